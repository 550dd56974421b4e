"""`benchmark run`: train a strategy on a stream, evaluate every task after every experience.

Outputs in the run folder (`results/<stream>/<strategy>/seed<N>/` by default):
  config.json       the resolved run, training and strategy configuration
  environment.json  package versions, device, git commit
  metrics.json      all matrices R[i][j], continual-learning summaries, parameters, wall times
  evals.jsonl       one line per (experience, task) evaluation, with every metric
  model.pt          final state_dict (+ strategy state such as masks), torch.save of tensors only
  run.log           the log
  sources.json      user streams only: what was read from each real corpus (kept, skipped, labels
                    outside the task vocabulary)
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmark import masks as M
from benchmark.config import TrainConfig, apply_overrides, check_model_choice, profile_config
from benchmark.environment import environment
from benchmark.errors import Interrupted, UserError
from benchmark.io import atomic_torch_save, atomic_write_json, atomic_write_text
from benchmark.memory import map_large_allocations, release_free_memory
from benchmark.provenance import check_reference_tree
from benchmark.streams import BuiltStream, build_stream, collate, get_stream
from benchmark.tasks import SUBSETS, TASKS

SCORE_DEFINITION = ("score = 100 * accuracy (classification), 100 * (1 - WER) (asr), "
                    "100 * entity F1 (ner); higher is better for every column")


@dataclass
class RunRequest:
    stream: str
    strategy: str
    seed: int = 0
    profile: str = "default"
    device: str = "cpu"
    out: str | None = None
    corpus: str | None = None
    order: list[str] | None = None
    overrides: list[str] = field(default_factory=list)
    overwrite: bool = False
    resume: bool = False
    progress: bool = True
    skip_bad: bool = False  # user streams: skip unreadable audio files (else stop, naming one)
    allow_dirty: bool = False  # write into the reference results/ from a tree with changes


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_dir_for(req: RunRequest) -> Path:
    root = Path(req.out) if req.out else Path("results") if req.profile == "default" \
        else Path("results") / req.profile
    return root / Path(req.stream).stem / req.strategy / f"seed{req.seed}"


def primary_score(spec, metrics: dict) -> float:
    """The higher-is-better percentage that fills the score matrix (see SCORE_DEFINITION)."""
    if spec.kind == "classification":
        return 100.0 * metrics["accuracy"]
    if spec.kind == "transcription":
        return 100.0 * (1.0 - metrics["wer"])
    return 100.0 * metrics["entity_f1"]


def evaluate_all(model, tokenizer, built: BuiltStream, parts, device: str,
                 batch_size: int, precision: str = "fp32") -> dict[str, dict]:
    """Metrics of every eval subset's test split, each seen through the strategy's view.

    Evaluation leaves torch's random state as it found it: each DataLoader iterator draws a
    seed from the global generator, so without this the shuffling of the next experience
    depended on how many test sets the stream evaluates (seed 0's first experience trained on
    a different order in three_task than in seven_task)."""
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        return _evaluate_all(model, tokenizer, built, parts, device, batch_size, precision)


def _evaluate_all(model, tokenizer, built, parts, device, batch_size,
                  precision) -> dict[str, dict]:
    from benchmark.evaluation.evaluate import evaluate_task

    results = {}
    for subset, ds in built.test_sets.items():
        spec = TASKS[SUBSETS[subset]]
        order = built.test_order[subset]  # sorted by length: less padding, faster decoding
        loader = torch.utils.data.DataLoader(
            ds, batch_size=batch_size, sampler=order, collate_fn=collate)
        t0 = time.perf_counter()
        with parts.eval_context(subset):
            res = evaluate_task(model, tokenizer, spec, loader, device, precision=precision)
        results[subset] = dict(res.metrics, eval_seconds=time.perf_counter() - t0)
        release_free_memory()
    return results


def changed_parameters(before: dict[str, torch.Tensor], model) -> int:
    """Number of parameter elements whose value differs from the snapshot (what an experience
    actually updated; counted, not assumed from the strategy's intent)."""
    return int(sum((p.detach() != before[n]).sum().item() for n, p in model.named_parameters()))


def ensure_corpus(corpus_arg: str | None, size: str, say) -> Path:
    """The corpus folder: `corpus_arg` (must be complete) or the profile's default, built if
    missing (an interrupted build resumes)."""
    from benchmark.data import corpus_is_complete
    from benchmark.data.build import build_corpus, default_corpus_dir

    corpus = Path(corpus_arg) if corpus_arg else default_corpus_dir(size, 0)
    if not corpus_is_complete(corpus):
        if corpus_arg:
            raise UserError(f"no complete corpus at {corpus}; build it with "
                            f"`benchmark data build --size {size} --out {corpus}`")
        say(f"corpus {corpus} missing: building it (benchmark data build --size {size})")
        build_corpus(size, out=corpus, seed=0, log=say)
    return corpus


def build_backbone_and_stream(train: TrainConfig, stream, corpus: Path | None, say,
                              locations=None):
    """The run's model family (benchmark.models.backbones) and its stream, with the features
    that model reads; the conformer also gets the corpus' fbank CMVN statistics.
    Seeded by the caller (the conformer's random initialisation)."""
    from benchmark.data.features import load_stats
    from benchmark.models.backbones import build_backbone

    backbone = build_backbone(train.model, train_embeddings=train.train_embeddings)
    built = build_stream(corpus, stream, backbone.tokenizer, train.max_train_per_subset or None,
                         train.max_eval_per_subset or None, locations, backbone.feature_kind, say)
    if backbone.uses_cmvn:
        if stream.sources:
            from benchmark.stream_file import train_feature_stats

            backbone.model.set_cmvn(*train_feature_stats(built))
        else:
            backbone.model.set_cmvn(*load_stats(corpus))
    return backbone, built


def run(req: RunRequest, log=print) -> Path:
    from strategies import get_strategy

    t_start = time.perf_counter()
    train: TrainConfig = profile_config(req.profile)
    info = get_strategy(req.strategy)
    strat_cfg = info.config()
    apply_overrides([strat_cfg, train], req.overrides)
    check_model_choice(train, req.profile)
    stream = get_stream(req.stream, req.order)
    if req.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")

    run_dir = run_dir_for(req)
    check_reference_tree(run_dir, req.allow_dirty)
    metrics_path, ckpt_path = run_dir / "metrics.json", run_dir / "checkpoint.pt"
    if not req.overwrite:
        if _is_complete(metrics_path):
            if req.resume:  # e.g. killed after it completed, before its report was written
                return _finish_complete_run(run_dir, log)
            raise UserError(f"{run_dir} already holds a complete run; pass --overwrite to "
                            "replace it")
        if metrics_path.exists() and not ckpt_path.exists():
            # only strategies that can resume leave a checkpoint, once an experience finished
            raise UserError(f"{run_dir} holds an unfinished run with no checkpoint to resume "
                            "from (its strategy cannot resume, or it stopped in its first "
                            "experience); pass --overwrite to start again")
        if ckpt_path.exists() and not req.resume:
            raise UserError(f"{run_dir} holds an unfinished run; pass --resume to continue it "
                            "or --overwrite to start again")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / ".write_test").touch()
        (run_dir / ".write_test").unlink()
    except OSError:
        raise UserError(f"cannot write to {run_dir}; choose another --out") from None
    with RunLock(run_dir):
        return _run_locked(req, run_dir, train, info, strat_cfg, stream, log, t_start)


def _finish_complete_run(run_dir: Path, log) -> Path:
    """`--resume` of a complete run: nothing to train. A run killed after metrics.json said
    complete may lack its report and still hold its last checkpoint; finish those."""
    with RunLock(run_dir):
        ckpt_path = run_dir / "checkpoint.pt"
        if ckpt_path.exists() or not (run_dir / "report" / "report.md").exists():
            from benchmark.reporting.report import write_run_report

            write_run_report(run_dir)
            ckpt_path.unlink(missing_ok=True)
    log(f"{run_dir} already holds a complete run; nothing to resume")
    return run_dir


def _is_complete(metrics_path: Path) -> bool:
    try:
        return bool(json.loads(metrics_path.read_text()).get("complete"))
    except (OSError, ValueError):
        return False


class RunLock:
    """One writer per run folder: a lock file holding the owner's pid, created atomically.
    A lock left by a dead process (SIGKILL) is taken over."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / ".lock"

    def __enter__(self):
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                return self
            except FileExistsError:
                try:
                    pid = int(self.path.read_text() or 0)
                    os.kill(pid, 0)
                except (ValueError, ProcessLookupError, FileNotFoundError):
                    self.path.unlink(missing_ok=True)  # stale: its owner is gone
                    continue
                except PermissionError:
                    pass
                raise UserError(f"another run (pid {pid}) is writing to {self.path.parent}; "
                                "wait for it or choose another --out") from None
        raise UserError(f"could not lock {self.path.parent}; remove {self.path} if no run is using it")

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)


# 2: the template's clock is saved (format 1 lost it, so a resumed ewc run restarted
# Avalanche's experience counter at 0 and ended differently from an uninterrupted one)
CHECKPOINT_FORMAT = 2
# Avalanche's Clock counters. Plugins key their state on them (EWCPlugin's penalty and
# importances on train_exp_counter; ParametricBuffer's groupby="experience" too).
CLOCK_COUNTERS = ("train_iterations", "train_exp_counter", "train_exp_epochs",
                  "train_exp_iterations", "train_epoch_iterations", "total_iterations")


def fingerprint(config: dict) -> str:
    """What a checkpoint must match to be resumed: everything but output/run-control flags, and
    the suite's source code (benchmark.provenance.source_sha256)."""
    from benchmark.provenance import source_sha256

    keep = {k: v for k, v in config.items() if k != "run"}
    keep["run"] = {k: config["run"][k] for k in ("stream", "strategy", "seed", "profile",
                                                  "order", "overrides")}
    keep["source_sha256"] = source_sha256()
    keep["checkpoint_format"] = CHECKPOINT_FORMAT
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def rng_state() -> dict:
    version, internal, gauss = random.getstate()
    _key, pos_np, *rest = np.random.get_state()
    return {"python": [version, list(internal), gauss], "torch": torch.get_rng_state(),
            "numpy": {"key": torch.from_numpy(pos_np.astype(np.int64)), "pos": int(rest[0]),
                      "has_gauss": int(rest[1]), "cached": float(rest[2])}}


def set_rng_state(sd: dict) -> None:
    version, internal, gauss = sd["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(sd["torch"])
    n = sd["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached"]))


def _run_locked(req, run_dir, train, info, strat_cfg, stream, log, t_start) -> Path:
    from benchmark.evaluation.cl_metrics import cl_summary
    from benchmark.models import count_parameters
    from benchmark.training.template import NonFiniteLoss, TrimHeapEvery, make_template
    from strategies import StrategyContext

    metrics_path, ckpt_path = run_dir / "metrics.json", run_dir / "checkpoint.pt"
    log_lines: list[str] = []

    def say(msg: str) -> None:
        log_lines.append(msg)
        log(msg)

    torch.set_num_threads(train.threads)
    map_large_allocations()  # before the features and the model are allocated
    seed_everything(req.seed)
    corpus = ensure_corpus(req.corpus, train.corpus_size, say) if stream.uses_synthslu7 \
        else None
    locations, prepared = None, {}
    if stream.sources:  # a user stream file: real corpora are decoded and cached on first use
        from benchmark.stream_file import prepare_sources

        locations, prepared = prepare_sources(stream, corpus, say, req.skip_bad)
        atomic_write_json(run_dir / "sources.json", prepared)

    seed_everything(req.seed)
    backbone, built = build_backbone_and_stream(train, stream, corpus, say, locations)
    tokenizer = backbone.tokenizer
    model = backbone.model.to(req.device)
    ctx = StrategyContext(model, tokenizer, stream, train, req.device, say, req.seed, req.progress)
    parts = info.build(strat_cfg, ctx)
    template = make_template(model, tokenizer, train, req.device,
                             plugins=[*parts.plugins, TrimHeapEvery(50)], progress=req.progress,
                             n_experiences=len(stream.experiences))

    config = {"run": dataclasses.asdict(req), "train": dataclasses.asdict(train),
              "strategy": dataclasses.asdict(strat_cfg), "corpus": str(corpus),
              "stream_experiences": [list(e) for e in stream.experiences]}
    if stream.sources:
        config["stream_sources"] = {n: src.as_dict() for n, src in stream.sources.items()}
        # the cache folder names carry a hash of the files read: --resume after the data
        # changed is refused like any other config change
        config["prepared_data"] = {f"{s}/{split}": Path(loc[0]).name
                                   for (s, split), loc in sorted(locations.items())}
    print_ = fingerprint(config)
    subsets = stream.eval_subsets
    params = count_parameters(model)
    start, elapsed_before = 0, 0.0
    if req.resume and ckpt_path.exists() and not req.overwrite:
        if not parts.resumable:
            raise UserError(f"strategy '{req.strategy}' does not support --resume yet; "
                            "rerun with --overwrite")
        try:
            ckpt = torch.load(ckpt_path, weights_only=True)
        except Exception as exc:  # noqa: BLE001 -- any unreadable/unsafe file gets one answer
            raise UserError(f"cannot resume from {ckpt_path} ({type(exc).__name__}: it is "
                            "corrupt or needs unsafe unpickling); rerun with --overwrite") from None
        if ckpt.get("fingerprint") != print_:
            raise UserError(f"{ckpt_path} was made with another config or another version of "
                            "the suite's code; rerun with the same options and code, or "
                            "--overwrite to start again")
        model.load_state_dict(ckpt["model"])
        parts.restore(ckpt["strategy"])
        for name, value in ckpt["clock"].items():
            setattr(template.clock, name, int(value))
        state, baseline = json.loads(ckpt["state"]), json.loads(ckpt["baseline"])
        start, elapsed_before = int(ckpt["completed"]), float(ckpt["elapsed"])
        set_rng_state(ckpt["rng"])
        _truncate_evals(run_dir / "evals.jsonl", start)
        say(f"resuming {run_dir} after experience {start}/{len(stream.experiences)}")
    else:
        if req.resume:
            say(f"nothing to resume in {run_dir}; starting from the beginning")
        ckpt_path.unlink(missing_ok=True)
        (run_dir / "evals.jsonl").unlink(missing_ok=True)
        state = {"per_task": {s: {} for s in subsets}, "score_rows": [], "train_seconds": [],
                 "eval_seconds": [], "updated_params": [], "extra_state": [],
                 "params_used": []}
        baseline = evaluate_all(model, tokenizer, built, parts, req.device,
                                train.eval_batch_size, train.precision)
    atomic_write_json(run_dir / "config.json", config)
    atomic_write_json(run_dir / "environment.json", environment(req.device))
    say(f"run {Path(req.stream).stem}/{req.strategy}/seed{req.seed} profile={req.profile}: "
        f"{len(stream.experiences)} experiences, train sizes {built.train_sizes}, "
        f"model {train.model} {params['total']:,} params "
        f"({sum(p.numel() for p in model.parameters() if p.requires_grad):,} trainable)")
    baseline_scores = [primary_score(TASKS[SUBSETS[s]], baseline[s]) for s in subsets]

    def write_metrics(complete: bool, reason: str | None = None) -> None:
        R = state["score_rows"]
        summary = cl_summary(np.array(R), higher_is_better=True,
                             train_exp_of_task=stream.trained_at(),
                             first_train_exp_of_task=stream.trained_at("first"),
                             baseline=np.array(baseline_scores), task_names=subsets) \
            if len(R) == len(stream.experiences) else None
        atomic_write_json(metrics_path, {
            "complete": complete, "incomplete_reason": reason,
            "resumable": parts.resumable,  # an unfinished run continues with --resume
            "stream": req.stream, "strategy": req.strategy, "seed": req.seed,
            "profile": req.profile, "experiences": [list(e) for e in stream.experiences],
            "eval_subsets": subsets, "trained_at": stream.trained_at(),
            "score": {"definition": SCORE_DEFINITION, "R": R, "baseline": baseline_scores,
                      "summary": summary},
            "per_task": state["per_task"],
            "baseline_metrics": baseline,
            "params": {"total": params["total"], "by_module": params,
                       "updated_per_experience": state["updated_params"],
                       "used_per_task": state["params_used"],
                       "extra_state": state["extra_state"]},
            "wall_seconds": {"train": state["train_seconds"], "eval": state["eval_seconds"],
                             "total": elapsed_before + time.perf_counter() - t_start},
        })

    reason = None
    try:
        for i, exp in enumerate(built.benchmark.train_stream):
            if i < start:
                continue
            before = {n: p.detach().clone() for n, p in model.named_parameters()}
            t0 = time.perf_counter()
            template.train(exp, eval_streams=[])
            state["train_seconds"].append(time.perf_counter() - t0)
            release_free_memory()
            state["updated_params"].append(changed_parameters(before, model))
            t0 = time.perf_counter()
            res = evaluate_all(model, tokenizer, built, parts, req.device, train.eval_batch_size,
                               train.precision)
            state["eval_seconds"].append(time.perf_counter() - t0)
            row = []
            with open(run_dir / "evals.jsonl", "a") as f:
                for s in subsets:
                    for k, v in res[s].items():
                        state["per_task"][s].setdefault(k, []).append(v)
                    row.append(primary_score(TASKS[SUBSETS[s]], res[s]))
                    f.write(json.dumps({"experience": i, "trained": list(stream.experiences[i]),
                                        "subset": s, **res[s]}, sort_keys=True) + "\n")
            state["score_rows"].append(row)
            state["extra_state"].append(parts.extra_state())
            state["params_used"].append(
                {s: parts.params_used(s) or params["total"] for s in subsets})
            say(f"exp {i + 1}/{len(stream.experiences)} {'+'.join(stream.experiences[i])}: "
                f"train {state['train_seconds'][-1]:.1f}s eval {state['eval_seconds'][-1]:.1f}s "
                + " ".join(f"{s}={v:.1f}" for s, v in zip(subsets, row)))
            write_metrics(complete=False, reason="running")
            if parts.resumable:  # a checkpoint nothing can resume from is dead weight
                atomic_torch_save(ckpt_path, {
                    "fingerprint": print_, "completed": i + 1, "model": model.state_dict(),
                    "strategy": parts.checkpoint(), "rng": rng_state(),
                    "clock": {n: getattr(template.clock, n) for n in CLOCK_COUNTERS},
                    "state": json.dumps(state), "baseline": json.dumps(baseline),
                    "elapsed": elapsed_before + time.perf_counter() - t_start})
    except NonFiniteLoss as exc:
        reason = f"stopped: {exc}"
    except KeyboardInterrupt:
        reason = "interrupted by the user"
    # the model before metrics.json: "complete" must not be on disk before what it vouches for
    strategy_state = parts.state_dict()
    atomic_torch_save(run_dir / "model.pt", {"model": model.state_dict(),
                                             "strategy": strategy_state})
    accounting = M.accounting_of_state(strategy_state, [SUBSETS[s] for s in subsets])
    if accounting is not None:  # subnet, packnet: small enough to commit (model.pt is not)
        atomic_write_json(run_dir / "masks.json", accounting)
    write_metrics(complete=reason is None, reason=reason)
    atomic_write_text(run_dir / "run.log", "\n".join(log_lines) + "\n")
    if reason:
        say(f"run incomplete ({reason}); partial results in {run_dir}")
        if reason.startswith("interrupted"):
            if not parts.resumable:
                raise Interrupted("run interrupted; this strategy cannot resume, so rerun it "
                                  "with --overwrite")
            if not ckpt_path.exists():
                raise Interrupted("run interrupted before its first experience ended; rerun it "
                                  "with --overwrite")
            raise Interrupted("run interrupted; continue it with the same command plus --resume")
        raise UserError(f"run stopped early ({reason}); partial results kept in {metrics_path}")
    say(summary_table(metrics_path))
    from benchmark.reporting.report import write_run_report

    say(f"report: {write_run_report(run_dir)}")
    atomic_write_text(run_dir / "run.log", "\n".join(log_lines) + "\n")
    ckpt_path.unlink(missing_ok=True)  # complete: model.pt and metrics.json hold the results
    return run_dir


def _truncate_evals(path: Path, completed: int) -> None:
    """Drop evaluation lines of experiences after the checkpoint (a crash may have left some)."""
    if path.exists():
        keep = [ln for ln in path.read_text().splitlines()
                if ln.strip() and json.loads(ln)["experience"] < completed]
        atomic_write_text(path, "".join(ln + "\n" for ln in keep))


def summary_table(metrics_path: Path) -> str:
    """The score matrix and the CL summary as text (pandas)."""
    import pandas as pd

    m = json.loads(Path(metrics_path).read_text())
    rows = ["after " + "+".join(e) for e in m["experiences"]]
    df = pd.DataFrame(m["score"]["R"], index=rows[: len(m["score"]["R"])],
                      columns=m["eval_subsets"]).round(1)
    s = m["score"]["summary"] or {}
    lines = [f"score matrix R[i][j] ({m['score']['definition']})", df.to_string(), ""]
    for key in ("acc", "bwt", "fwt", "forgetting"):
        if s.get(key) is not None:
            lines.append(f"{key.upper():>10}: {s[key]:.2f}")
    lines.append(f"wall time: {m['wall_seconds']['total']:.1f} s")
    return "\n".join(lines)
