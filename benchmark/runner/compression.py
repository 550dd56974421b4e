"""`benchmark compress`: the paper's first result -- task subnetworks vs the unpruned model.

1. Train the multi-task base densely on experience 0 of the stream (for `adaptation`: er + ic +
   asr jointly): the dense copy the `subnet` strategy's mask search starts from on its first
   experience (the strategy then trains `epochs` more through the masks; this study does not).
2. For each task of that experience, run iterative magnitude pruning on a copy of the base
   (global threshold, `per_round` of the remaining weights per round), training `round_epochs`
   through the mask after each prune, and evaluate the task's test split through its mask after
   every round. With per_round=0.2 and target 0.67 the rounds visit sparsity 0, 0.2, 0.36,
   0.488, 0.590, 0.67: the paper's two operating points and a sweep in one chain.
3. Control (`dense_control`): the same base trained densely on the task alone for the same extra
   epochs, evaluated after each. Every IMP round also trains the task for `round_epochs`, so
   without this a "gain" at 67 % sparsity could be just 5 more epochs of single-task training.
Writes `compression.json` ({task: {sparsity, metric, metric_name, unpruned, dense_control, ...}}),
`config.json` and `environment.json` (versions, device, code revision), like a run; into the
reference results/ only from a clean tree (`--allow-dirty` overrides).

Resume. A study on the default profile takes ~3 h on one CPU thread, longer than a session may
hold a machine, so it saves `progress.pt` after the base and after each task (the base's
weights, the finished tasks' curves, the RNG states, the seconds so far). `--resume` continues
from it and ends exactly where an uninterrupted study would (tested); it is refused if the
settings or the suite's code differ. The study deletes it when it writes compression.json.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchmark import masks as M
from benchmark.config import apply_overrides, check_model_choice, profile_config
from benchmark.environment import environment, run_sessions
from benchmark.errors import UserError
from benchmark.io import atomic_torch_save, atomic_write_json
from benchmark.memory import peak_rss_mib
from benchmark.provenance import check_reference_tree, source_sha256
from benchmark.runner.checkpoint import rng_state, set_rng_state
from benchmark.runner.setup import (
    build_backbone_and_stream,
    configure_device,
    ensure_corpus,
    seed_everything,
)
from benchmark.streams import collate, get_stream
from benchmark.tasks import SUBSETS, TASKS


@dataclass
class CompressionRequest:
    stream: str = "adaptation"
    target: float = 0.67
    per_round: float = 0.2
    round_epochs: int = 1
    seed: int = 0
    profile: str = "default"
    device: str = "cpu"
    out: str | None = None
    corpus: str | None = None
    overrides: list[str] = field(default_factory=list)
    progress: bool = True
    control: bool = True  # also train the unpruned base for the same epochs (see step 3)
    overwrite: bool = False  # replace an existing compression.json in `out`
    allow_dirty: bool = False  # write into the reference results/ from a tree with changes
    resume: bool = False  # continue from `out`/progress.pt (see the module docstring)


PROGRESS = "progress.pt"
# request fields that do not change the study's numbers (a resume may differ in them)
_RUN_CONTROL = ("out", "progress", "overwrite", "allow_dirty", "resume")


def _fingerprint(req: CompressionRequest, train) -> str:
    """What progress.pt must match to be resumed: the request's settings, the resolved training
    config and the suite's source code."""
    keep = {"request": {k: v for k, v in dataclasses.asdict(req).items()
                        if k not in _RUN_CONTROL},
            "train": dataclasses.asdict(train), "source_sha256": source_sha256()}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def dense_control(model, make_template, exp, score, rounds: int, round_epochs: int,
                  start: float, log) -> dict:
    """The unpruned model trained `round_epochs` at a time on the task alone, `rounds` times,
    with the same per-call recipe (fresh optimizer and warm-up) as the IMP rounds."""
    out = {"extra_epochs": [0], "metric": [start], "seconds": [0.0]}
    for r in range(rounds):
        t0 = time.perf_counter()
        make_template(model).train(exp, eval_streams=[])
        out["extra_epochs"].append((r + 1) * round_epochs)
        out["metric"].append(score(model))
        out["seconds"].append(time.perf_counter() - t0)
        log(f"dense control +{out['extra_epochs'][-1]} epochs: {out['metric'][-1]:.4f}")
    return out


def run_compression(req: CompressionRequest, log=print) -> Path:
    from benchmark.evaluation.evaluate import evaluate_task
    from benchmark.evaluation.scores import primary_metric
    from benchmark.training.template import make_template, pin_memory_for

    t_start = time.perf_counter()
    train = profile_config(req.profile)
    apply_overrides([train], req.overrides)
    check_model_choice(train, req.profile)
    if not 0.0 < req.target < 1.0:
        raise UserError(f"target sparsity must be in (0, 1), got {req.target}")
    stream = get_stream(req.stream)
    if stream.sources:
        raise UserError("benchmark compress runs on the built-in streams only; pick one from "
                        "`benchmark list streams`")
    out = Path(req.out) if req.out else Path("results") / (
        "" if req.profile == "default" else req.profile) / "compression" / req.stream / \
        f"seed{req.seed}"
    if (out / "compression.json").exists() and not req.overwrite:
        raise UserError(f"{out} already holds a compression study; pass --overwrite to replace "
                        "it or --out to write elsewhere")
    progress_path = out / PROGRESS
    if progress_path.exists() and not (req.resume or req.overwrite):
        raise UserError(f"{out} holds an unfinished compression study; pass --resume to "
                        "continue it or --overwrite to start again")
    check_reference_tree(out, req.allow_dirty)
    torch.set_num_threads(train.threads)
    requested, train = train, configure_device(train, req.device, log)
    env = {**environment(req.device), "precision_used": train.precision}  # before any training
    corpus = ensure_corpus(req.corpus, train.corpus_size, log)
    seed_everything(req.seed)
    backbone, built = build_backbone_and_stream(train, stream, corpus, log)
    tokenizer = backbone.tokenizer
    model = backbone.model.to(req.device)

    def template(m, epochs, plugins=()):
        return make_template(m, tokenizer, train, req.device, epochs=epochs, plugins=plugins,
                             progress=req.progress)

    def evaluate(m, subset: str) -> dict:
        spec = TASKS[SUBSETS[subset]]
        loader = torch.utils.data.DataLoader(built.test_sets[subset],
                                             batch_size=train.eval_batch_size,
                                             sampler=built.test_order[subset], collate_fn=collate,
                                             pin_memory=pin_memory_for(req.device))
        return evaluate_task(m, tokenizer, spec, loader, req.device,
                             precision=train.precision).metrics

    exp0 = built.benchmark.train_stream[0]
    fingerprint = _fingerprint(req, requested)
    if req.resume and progress_path.exists():
        saved = torch.load(progress_path, weights_only=True)
        if saved.get("fingerprint") != fingerprint:
            raise UserError(f"{progress_path} was made with other settings or another version "
                            "of the suite's code; rerun with the same ones, or --overwrite")
        model.load_state_dict(saved["base"])
        results, base_seconds = json.loads(saved["results"]), saved["base_seconds"]
        elapsed_before = saved["elapsed"]
        # where each stretch ran, as a resumed run records it; "from_experience" counts the
        # base as 0 and the tasks from 1
        env["sessions"] = run_sessions({"sessions": json.loads(saved["sessions"])}, env,
                                       1 + len(results))
        set_rng_state(saved["rng"])
        log(f"compress: resuming from {progress_path}: base and "
            f"{', '.join(results) or 'no task'} done")
    else:
        t0 = time.perf_counter()
        template(model, train.epochs).train(exp0, eval_streams=[])
        base_seconds = time.perf_counter() - t0
        log(f"compress: multi-task base trained on {'+'.join(stream.experiences[0])} "
            f"in {base_seconds:.1f}s")
        results, elapsed_before = {}, 0.0
        env["sessions"] = run_sessions(None, env, 0)

    def save_progress() -> None:  # `model` stays the base: each task trains copies of it
        atomic_torch_save(progress_path, {
            "fingerprint": fingerprint, "base": model.state_dict(),
            "results": json.dumps(results), "rng": rng_state(), "base_seconds": base_seconds,
            "sessions": json.dumps(env["sessions"]),
            "elapsed": elapsed_before + time.perf_counter() - t_start})

    save_progress()

    from benchmark.training.masked import MaskedTraining, single_experience

    for subset in stream.experiences[0]:
        if subset in results:
            continue
        task = SUBSETS[subset]
        name, direction = primary_metric(TASKS[task].kind)
        data = exp0.dataset
        labels = data.targets_task_labels
        task_data = data.subset([i for i in range(len(data))
                                 if int(labels[i]) == TASKS[task].index])
        work = copy.deepcopy(model)
        curve = {"sparsity": [], "metric": [], "all_metrics": [], "seconds": []}
        n_calls = {"n": 0}

        def train_fn(m, mask, task=task, task_data=task_data, curve=curve, n_calls=n_calls,
                     subset=subset, name=name):
            t1 = time.perf_counter()
            if n_calls["n"] > 0:  # the first call sees the already-trained base
                masks = M.TaskMasks.for_model(m)
                masks.set(task, mask)
                exp = single_experience(task_data)
                template(m, req.round_epochs,
                         [MaskedTraining(masks, {task: mask}, seed=req.seed)]).train(
                    exp, eval_streams=[])
            n_calls["n"] += 1
            with M.task_view(m, mask):
                metrics = evaluate(m, subset)
            kept = M.mask_count(mask)
            curve["sparsity"].append(1.0 - kept / M.mask_numel(mask))
            curve["metric"].append(metrics[name])
            curve["all_metrics"].append(metrics)
            curve["seconds"].append(time.perf_counter() - t1)
            log(f"compress: {subset} sparsity {curve['sparsity'][-1]:.3f} {name}="
                f"{metrics[name]:.4f}")

        _, history = M.iterative_magnitude_pruning(work, train_fn, req.target,
                                                   per_round=req.per_round, finetune=True)
        results[subset] = dict(curve, metric_name=name, direction=direction,
                               unpruned=curve["metric"][0], history=history,
                               round_epochs=req.round_epochs)
        if req.control:
            results[subset]["dense_control"] = dense_control(
                copy.deepcopy(model), lambda m: template(m, req.round_epochs),
                single_experience(task_data), lambda m, s=subset, n=name: evaluate(m, s)[n],
                len(curve["metric"]) - 1, req.round_epochs, curve["metric"][0],
                lambda msg, s=subset: log(f"compress: {s} {msg}"))
        save_progress()
    atomic_write_json(out / "compression.json", results)
    atomic_write_json(out / "config.json", {"request": dataclasses.asdict(req),
                                            "train": dataclasses.asdict(requested),
                                            "corpus": str(corpus),
                                            "base_seconds": base_seconds,
                                            "total_seconds": elapsed_before
                                            + time.perf_counter() - t_start,
                                            # of the session that finished it
                                            "peak_rss_mib": round(peak_rss_mib(), 1)})
    atomic_write_json(out / "environment.json", env)
    progress_path.unlink()
    return out
