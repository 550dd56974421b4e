"""`SLUTemplate`: Avalanche's SupervisedTemplate, minimally adapted for sequence outputs.

The training loop itself is Avalanche's (SGDUpdate.training_epoch), unchanged:

    for mbatch in dataloader:                  # (x, y, t): padded fbank+validity, tokens, task
        optimizer.zero_grad()
        mb_output = model(x)                   # EncoderOutput (hidden, mask)
        loss = criterion(mb_output, y)         # teacher-forced decoder CE (+ CTC on ASR rows)
        loss.backward()                        # plugins: after_backward (e.g. mask gradients)
        optimizer_step()                       # clip, AdamW step, LR schedule step

What differs from the parent, and why:
- `make_optimizer` builds a *fresh* AdamW + warm-up/cosine schedule per experience. Avalanche
  keeps the optimizer state across experiences by default; stale Adam moments would move
  weights that a strategy (subnet) means to keep fixed, and a per-experience schedule is what
  fine-tuning recipes use.
- `optimizer_step` clips the gradient norm and steps the scheduler.
- `_after_training_exp` frees the experience's optimizer moments and gradients before the
  plugins' after-training work, and the gradients again after it (importance passes leave
  theirs), so that neither that work nor the evaluation holds them.
- `backward` stops the run on a NaN/inf loss (NonFiniteLoss) instead of corrupting the model.
- `make_train_dataloader` batches utterances of similar length (`LengthBucketBatches`) instead
  of Avalanche's task-balanced random batches: a batch is padded to its longest utterance, and
  random batches of SynthSLU-7 (0.9-4 s) were ~30 % padding. Strategies that bring their own
  loader (replay, subnet, packnet) keep it.
- `forward` and `criterion` run under `autocast(device, precision)` (bf16 by default for
  Whisper: 1.19 s instead of 1.73 s per step on the 2-core CPU). EWC's and MAS's importance
  passes run in fp32; LwF's teacher and GEM's memory passes under the run's precision.
- precision="fp16" (GPUs without bf16) adds a gradient scaler: the loss is scaled for
  `backward`, and the gradients are unscaled right after it, so plugins that read them
  (masks, A-GEM, GEM, SI) see true gradients. A step whose gradients hold inf/NaN is skipped
  and its gradients are zeroed (SI multiplies them by the weight change). The scaler is fresh
  per experience, like the optimizer, so a resumed run (which starts at an experience
  boundary) is exact.
- The default Avalanche evaluator (accuracy on logits) is replaced by a silent one: evaluation
  decodes text and is done by `benchmark.runner` after each experience.
"""
from __future__ import annotations

import contextlib
import math
import warnings

import torch
from avalanche.core import SupervisedPlugin
from avalanche.training.plugins import EvaluationPlugin
from avalanche.training.templates import SupervisedTemplate
from tqdm.auto import tqdm

from benchmark.memory import release_free_memory

with warnings.catch_warnings():  # "no loggers specified" is what we want here
    warnings.simplefilter("ignore")
    _SILENT_EVALUATOR = EvaluationPlugin(loggers=[])


class NonFiniteLoss(RuntimeError):
    pass


HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device, precision: str) -> contextlib.AbstractContextManager:
    """bf16/fp16 autocast on `device` (CPU or CUDA); nothing for "fp32"."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision not in HALF:
        raise ValueError(f"precision must be fp32, bf16 or fp16, got {precision!r}")
    return torch.autocast(torch.device(device).type, dtype=HALF[precision])


class LengthBucketBatches(torch.utils.data.Sampler):
    """Shuffled batches of similar-length utterances: the shuffled indices are cut into pools of
    `pool` batches, each pool is sorted by length and cut into batches, and the batch order is
    shuffled. Draws from torch's global generator (seeded by the run; restored on resume)."""

    def __init__(self, lengths: list[int], batch_size: int, pool: int = 32):
        self.lengths, self.batch_size, self.pool = lengths, batch_size, pool

    def __iter__(self):
        order = torch.randperm(len(self.lengths)).tolist()
        size = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), size):
            chunk = sorted(order[start:start + size], key=self.lengths.__getitem__)
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        return iter([batches[i] for i in torch.randperm(len(batches)).tolist()])

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


class SLUTemplate(SupervisedTemplate):
    def __init__(self, *, model, criterion, lr: float, weight_decay: float, warmup_steps: int,
                 grad_clip: float, train_mb_size: int, train_epochs: int, device,
                 plugins=None, eval_mb_size: int = 64, precision: str = "fp32"):
        self.lr, self.weight_decay = lr, weight_decay
        self.precision = precision
        self.warmup_steps, self.grad_clip = warmup_steps, grad_clip
        self.scheduler = self.scaler = None
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        super().__init__(model=model, optimizer=optimizer, criterion=criterion,
                         train_mb_size=train_mb_size, train_epochs=train_epochs,
                         eval_mb_size=eval_mb_size, device=device, plugins=plugins,
                         evaluator=_SILENT_EVALUATOR, eval_every=-1)

    def make_optimizer(self, **kwargs):
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        total = max(1, len(self.dataloader) * self.train_epochs) if self.dataloader else 1
        warm = min(self.warmup_steps, max(1, total // 4))

        def factor(step: int) -> float:  # linear warm-up, then cosine decay to 10 %
            if step < warm:
                return (step + 1) / warm
            progress = min(1.0, (step - warm) / max(1, total - warm))
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        if self.precision == "fp16":
            self.scaler = torch.amp.GradScaler(torch.device(self.device).type)
        # Avalanche's optimizer bookkeeping (used by its dynamic-model support).
        self.optimized_param_id = {id(p): n for n, p in self.model.named_parameters()}

    def _after_training_exp(self, **kwargs):
        # The experience's AdamW moments and gradients are never read again (`make_optimizer`
        # builds a fresh AdamW per experience, whose first zero_grad sets gradients to None),
        # yet they would stay alive through the plugins' after-training work (PackNet's
        # retraining copy, EWC's and MAS's importance passes) and the run's evaluation, and
        # add to their peak: 8 bytes per trainable weight of moments and 4 of gradients.
        self.optimizer.state.clear()
        self.model.zero_grad(set_to_none=True)
        release_free_memory()
        super()._after_training_exp(**kwargs)
        # Importance passes (EWC's Avalanche plugin) leave their last batch's gradients behind;
        # free them here, once for every plugin, so that evaluation does not hold them.
        self.model.zero_grad(set_to_none=True)

    def make_train_dataloader(self, num_workers=0, shuffle=True, pin_memory=None, **kwargs):
        ds = self.adapted_dataset
        lengths = [ds[i][0].shape[0] for i in range(len(ds))]
        self.dataloader = torch.utils.data.DataLoader(
            ds, batch_sampler=LengthBucketBatches(lengths, self.train_mb_size),
            collate_fn=ds.collate_fn, pin_memory=pin_memory_for(self.device))

    def forward(self):
        with autocast(self.device, self.precision):
            return super().forward()

    def criterion(self):
        with autocast(self.device, self.precision):
            return super().criterion()

    def backward(self):
        if not torch.isfinite(self.loss):
            raise NonFiniteLoss(f"loss became {self.loss.item()} in experience "
                                f"{self.experience.current_experience}")
        if self.scaler is None:
            super().backward()
        else:
            self.scaler.scale(self.loss).backward(retain_graph=self.retain_graph)
            self.scaler.unscale_(self.optimizer)  # after_backward plugins see true gradients

    def optimizer_step(self):
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        if self.scaler is None:
            self.optimizer.step()
        else:
            scale = self.scaler.get_scale()
            self.scaler.step(self.optimizer)  # skipped when the gradients held inf/NaN
            self.scaler.update()
            if self.scaler.get_scale() < scale:  # skipped: no plugin may use these gradients
                self.optimizer.zero_grad(set_to_none=False)
        if self.scheduler is not None:
            self.scheduler.step()


def pin_memory_for(device) -> bool:
    """Pinned host memory makes host-to-GPU copies faster (and asynchronous); useless on CPU."""
    return torch.device(device).type == "cuda"


def make_template(model, tokenizer, train, device, *, epochs: int | None = None,
                  plugins=(), progress: bool = True, n_experiences: int = 1) -> SLUTemplate:
    """The one recipe every trainer uses (the run, a subnet/packnet search copy, compression):
    the criterion for `tokenizer`, AdamW + warm-up/cosine and the precision from `train`
    (benchmark.config.TrainConfig), then `plugins` and a progress bar."""
    from benchmark.models import SLUCriterion

    return SLUTemplate(
        model=model, criterion=SLUCriterion(model, tokenizer, ctc_weight=train.ctc_weight),
        lr=train.lr, weight_decay=train.weight_decay, warmup_steps=train.warmup_steps,
        grad_clip=train.grad_clip, train_mb_size=train.batch_size,
        train_epochs=train.epochs if epochs is None else epochs, device=device,
        eval_mb_size=train.eval_batch_size, precision=train.precision,
        plugins=[*plugins, ProgressBars(n_experiences, progress)])


class ProgressBars(SupervisedPlugin):
    """tqdm bars for epochs and batches, with the running loss and ETA."""

    def __init__(self, n_experiences: int, enabled: bool = True):
        super().__init__()
        self.n_experiences, self.enabled = n_experiences, enabled
        self.bar = None
        self.running = None

    def before_training_epoch(self, strategy, **kw):
        exp = strategy.experience.current_experience
        desc = (f"exp {exp + 1}/{self.n_experiences} "
                f"epoch {strategy.clock.train_exp_epochs + 1}/{strategy.train_epochs}")
        self.bar = tqdm(total=len(strategy.dataloader), desc=desc, leave=False,
                        disable=not self.enabled, dynamic_ncols=True)

    def after_training_iteration(self, strategy, **kw):
        loss = float(strategy.loss.detach())
        self.running = loss if self.running is None else 0.95 * self.running + 0.05 * loss
        self.bar.set_postfix(loss=f"{self.running:.3f}", refresh=False)
        self.bar.update(1)

    def after_training_epoch(self, strategy, **kw):
        self.bar.close()


class TrimHeapEvery(SupervisedPlugin):
    """Trim the heap every `iterations` training steps, so that fragmentation can't build up
    within an experience (the runner trims between experiences and evaluations too)."""

    def __init__(self, iterations: int = 50):
        super().__init__()
        self.iterations = iterations

    def after_training_iteration(self, strategy, **kw):
        if strategy.clock.train_exp_iterations % self.iterations == 0:
            release_free_memory()
