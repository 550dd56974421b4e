"""A small continual-learning run for strategy tests: the runner's wiring (model, the strategy's
parts, the template) on synthetic utterances held in memory, without a corpus or decoding.

`run_strategy(name)` trains the quick profile's conformer-tiny on er -> ic -> asr (16 random
utterances each, batch 8: two steps per experience) and records, through two spy plugins placed
first and last in the plugin list (Avalanche calls plugins in list order):
- which utterances each training minibatch held (by a fingerprint of their frames),
- the loss before any strategy plugin's `before_backward` and after all of them (what
  regularisers such as EWC, SI, MAS and LwF add to it),
- optionally the gradient before and after the strategies' `after_backward` (A-GEM, GEM),
- the weights after each experience, and teacher-forced logits of a fixed test batch per task,
  seen through the strategy's `eval_context` (a task's mask for subnet, packnet).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
from avalanche.benchmarks.scenarios.task_aware import with_task_labels
from avalanche.core import SupervisedPlugin

from benchmark.config import apply_overrides, profile_config
from benchmark.models.backbones import build_backbone
from benchmark.streams import StreamSpec, collate, dataset_from_items
from benchmark.tasks import EMOTIONS, INTENTS, TASK_BY_INDEX, TASKS
from benchmark.training.template import make_template
from strategies import StrategyContext, get_strategy

STREAM = ("er", "ic", "asr")
N_TRAIN, N_TEST, BATCH = 16, 6, 8
WORDS = ("turn", "on", "the", "light", "play", "some", "music", "set", "an", "alarm", "stop")
N_MELS = 80


def whisper_overrides(model_dir) -> list[str]:
    """The tiny random Whisper (tests/conftest.py) with the settings tests/test_strategies.py
    runs it with: no CTC head, the Whisper recipe's bf16 autocast."""
    return [f"model=whisper:{model_dir}", "ctc_weight=0", "lr=1e-3", "precision=bf16"]


def fingerprint(frames: torch.Tensor) -> tuple[float, ...]:
    """Identifies an utterance from its first frames (random features: unique in practice)."""
    return tuple(frames[:4, :4].flatten().tolist())


@dataclass
class Utterances:
    """One subset's synthetic utterances: (features (T, 80), token ids, task index)."""

    subset: str
    feats: list[torch.Tensor]
    ys: list[torch.Tensor]
    task: int

    def dataset(self):
        labels = [0] * len(self.ys)
        return dataset_from_items(self.feats, self.ys, [self.task] * len(self.ys), labels)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return collate(list(zip(self.feats, self.ys, [self.task] * len(self.ys))))

    def ids(self) -> set[tuple[float, ...]]:
        return {fingerprint(f) for f in self.feats}


def make_utterances(subset: str, n: int, tokenizer, seed: int) -> Utterances:
    """`n` utterances of 40-140 frames of fbank-like noise with random labels (or word strings
    for asr); lengths differ, so batches are padded."""
    g = torch.Generator().manual_seed(seed)
    spec = TASKS[subset]
    feats, ys = [], []
    for _ in range(n):
        frames = int(torch.randint(40, 141, (1,), generator=g))
        feats.append(torch.randn(frames, N_MELS, generator=g) * 3 - 5)
        if spec.kind == "classification":
            labels = EMOTIONS if subset == "er" else INTENTS
            row = {"label": labels[int(torch.randint(len(labels), (1,), generator=g))]}
        else:
            k = int(torch.randint(1, 4, (1,), generator=g))
            row = {"text": " ".join(WORDS[int(i)] for i in torch.randint(len(WORDS), (k,),
                                                                          generator=g))}
        ys.append(torch.tensor(tokenizer.encode_target(spec, row), dtype=torch.long))
    return Utterances(subset, feats, ys, spec.index)


@dataclass(repr=False)
class Step:
    experience: int
    ids: list[tuple[float, ...]]  # fingerprints of the minibatch's utterances, in order
    tasks: list[int]
    loss_first: float = float("nan")  # strategy.loss before the strategies' before_backward
    loss_last: float = float("nan")  # ... and after all of them
    grad_first: torch.Tensor | None = None  # flat gradient before the strategies' after_backward
    grad_last: torch.Tensor | None = None  # ... and after all of them
    probe: object = None  # what `run_strategy(probe=...)` returned after the after_backward round

    @property
    def penalty(self) -> float:
        """What the strategy's plugins added to the loss in this step."""
        return self.loss_last - self.loss_first


def _flat_grad(model) -> torch.Tensor:
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).detach().flatten()
                      for p in model.parameters()]).clone()


class Spy(SupervisedPlugin):
    """Records what a training step looks like at the start (`first`) or the end of a callback
    round. It changes nothing."""

    def __init__(self, record: RunRecord, first: bool, grads: bool, probe=None):
        super().__init__()
        self.record, self.first, self.grads, self.probe = record, first, grads, probe

    def after_forward(self, strategy, **kw):
        if self.first:
            x = strategy.mb_x
            ids = [fingerprint(x[i, :, :N_MELS]) for i in range(x.size(0))]
            tasks = [int(t) for t in strategy.mb_task_id]
            self.record.steps.append(Step(self.record.current, ids, tasks))

    def before_backward(self, strategy, **kw):
        loss = float(strategy.loss.detach())
        setattr(self.record.steps[-1], "loss_first" if self.first else "loss_last", loss)

    def after_backward(self, strategy, **kw):
        if self.grads:
            setattr(self.record.steps[-1], "grad_first" if self.first else "grad_last",
                    _flat_grad(strategy.model))
        if self.probe is not None:
            self.record.steps[-1].probe = self.probe(strategy)


@dataclass(repr=False)
class RunRecord:
    strategy: str
    model: torch.nn.Module
    tokenizer: object
    parts: object  # strategies.StrategyParts
    template: object
    train: list[Utterances]  # per experience
    test: dict[str, Utterances]  # per subset
    steps: list[Step] = field(default_factory=list)
    weights: list[dict[str, torch.Tensor]] = field(default_factory=list)  # after each experience
    logits: list[dict[str, torch.Tensor]] = field(default_factory=list)  # after each experience
    decoded: list[dict[str, tuple]] = field(default_factory=list)  # (metrics, predictions)
    initial: dict[str, torch.Tensor] = field(default_factory=dict)
    current: int = 0

    def __repr__(self) -> str:  # short, for assertion messages
        return f"RunRecord({self.strategy}, {len(self.weights)} experiences)"

    def steps_of(self, experience: int) -> list[Step]:
        return [s for s in self.steps if s.experience == experience]

    def plugin(self, cls):
        """The strategy's plugin of class `cls` (or a subclass)."""
        found = [p for p in self.parts.plugins if isinstance(p, cls)]
        assert len(found) == 1, f"{self.strategy}: expected one {cls.__name__}, got {found}"
        return found[0]

    def outputs(self, subset: str) -> torch.Tensor:
        """Teacher-forced decoder logits of `subset`'s test batch in eval mode, through the
        strategy's view of the model for that subset."""
        x, y, _t = self.test[subset].batch()
        crit = self.template._criterion
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), self.parts.eval_context(subset):
                return crit.decoder_logits(self.model(x), y).clone()
        finally:
            self.model.train(was_training)

    def decode(self, subset: str) -> tuple[dict, list]:
        """Greedy decoding of `subset`'s test batch through the strategy's view, scored as the
        runner scores it: (metrics, predictions)."""
        from benchmark.evaluation.evaluate import evaluate_task

        with self.parts.eval_context(subset):
            res = evaluate_task(self.model, self.tokenizer, TASKS[subset],
                                [self.test[subset].batch()], "cpu")
        return res.metrics, res.predictions


def snapshot(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def run_strategy(name: str, overrides: list[str] = (), stream=STREAM, seed: int = 0,
                 n_train: int = N_TRAIN, grads: bool = False, probe=None,
                 decode: tuple[str, ...] = ()) -> RunRecord:
    """Train strategy `name` (with `key=value` overrides of its config or of the quick
    profile's TrainConfig) on `stream`, one subset per experience, as the runner does.

    grads: record the flat gradient before and after the strategies' `after_backward`.
    probe: `probe(strategy)` is called once the strategies' `after_backward` have run; its
    result is kept in `Step.probe` (e.g. a plugin's reference gradient).
    decode: subsets whose test batch is decoded and scored after each experience."""
    train = profile_config("quick")
    train.epochs, train.batch_size = 1, BATCH
    info = get_strategy(name)
    cfg = info.config()
    apply_overrides([cfg, train], list(overrides))
    torch.manual_seed(seed)
    backbone = build_backbone(train.model)
    model, tokenizer = backbone.model, backbone.tokenizer
    data = [make_utterances(s, n_train, tokenizer, seed=1000 + i) for i, s in enumerate(stream)]
    test = {s: make_utterances(s, N_TEST, tokenizer, seed=2000 + i) for i, s in enumerate(stream)}
    spec = StreamSpec("test", [(s,) for s in stream])
    ctx = StrategyContext(model, tokenizer, spec, train, "cpu", lambda *a: None, seed, False)
    parts = info.build(cfg, ctx)
    rec = RunRecord(name, model, tokenizer, parts, None, data, test)
    template = make_template(model, tokenizer, train, "cpu", progress=False,
                             plugins=[Spy(rec, True, grads), *parts.plugins,
                                      Spy(rec, False, grads, probe)],
                             n_experiences=len(stream))
    rec.template = template
    bm = with_task_labels(benchmark_from_datasets(train=[u.dataset() for u in data]))
    torch.manual_seed(seed)
    rec.initial = snapshot(model)
    for i, exp in enumerate(bm.train_stream):
        rec.current = i
        template.train(exp, eval_streams=[])
        rec.weights.append(snapshot(model))
        rec.logits.append({s: rec.outputs(s) for s in stream})
        rec.decoded.append({s: rec.decode(s) for s in decode})
    return rec


def task_of(index: int) -> str:
    return TASK_BY_INDEX[index].id
