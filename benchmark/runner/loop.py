"""`benchmark run`: train a strategy on a stream, evaluate every task after every experience.

The run in four steps, each a function below: resolve the request (`run`), build the model,
stream and strategy (`_Session`), start or resume (`_start`), then the experience loop
(`_train_experiences`) and the final files (`_finish`). The folder and its lock live in
`layout.py`, the checkpoint in `checkpoint.py`.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmark import masks as M
from benchmark.config import TrainConfig, apply_overrides, check_model_choice, profile_config
from benchmark.environment import environment, run_sessions
from benchmark.errors import Interrupted, UserError
from benchmark.evaluation.scores import SCORE_DEFINITION, score
from benchmark.io import atomic_torch_save, atomic_write_json, atomic_write_text
from benchmark.memory import map_large_allocations, peak_rss_mib, release_free_memory
from benchmark.provenance import check_reference_tree
from benchmark.runner import checkpoint
from benchmark.runner.layout import (
    RunLock,
    RunRequest,
    check_can_start,
    is_complete,
    run_dir_for,
    truncate_evals,
)
from benchmark.runner.loggers import RunLoggers
from benchmark.runner.setup import (
    build_backbone_and_stream,
    configure_device,
    ensure_corpus,
    seed_everything,
)
from benchmark.streams import get_stream
from benchmark.tasks import SUBSETS, TASKS


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
    check_can_start(run_dir, req)
    with RunLock(run_dir):
        if not req.overwrite and req.resume and is_complete(run_dir):
            return _finish_complete_run(run_dir, log)
        session = _Session.build(req, run_dir, train, info, strat_cfg, stream, log, t_start)
        try:
            progress = _start(session)
            reason = _train_experiences(session, progress)
            done = _finish(session, progress, reason)
        except BaseException:
            session.loggers.close(complete=False)
            raise
        session.loggers.close(complete=True)
        return done


def _finish_complete_run(run_dir: Path, log) -> Path:
    """`--resume` of a complete run: nothing to train. A run killed after metrics.json said
    complete may lack its report and still hold its last checkpoint; finish those."""
    ckpt_path = run_dir / "checkpoint.pt"
    if ckpt_path.exists() or not (run_dir / "report" / "report.md").exists():
        from benchmark.reporting.report import write_run_report

        write_run_report(run_dir)
        ckpt_path.unlink(missing_ok=True)
    log(f"{run_dir} already holds a complete run; nothing to resume")
    return run_dir


@dataclass
class _Session:
    """Everything a run builds once: the request, its folder, model, stream and strategy."""
    req: RunRequest
    run_dir: Path
    train: TrainConfig
    stream: object  # benchmark.streams.StreamSpec
    built: object  # benchmark.streams.BuiltStream
    model: torch.nn.Module
    tokenizer: object
    parts: object  # strategies.StrategyParts
    template: object  # benchmark.training.template.SLUTemplate
    config: dict
    params: dict
    loggers: RunLoggers  # --logger tensorboard,csv,wandb (none by default)
    log_lines: list[str]
    log: object
    t_start: float  # perf_counter at the start of this process's part of the run

    def say(self, msg: str) -> None:
        self.log_lines.append(msg)
        self.log(msg)

    @property
    def subsets(self) -> list[str]:
        return self.stream.eval_subsets

    def evaluate(self) -> dict[str, dict]:
        from benchmark.evaluation.evaluate import evaluate_all

        return evaluate_all(self.model, self.tokenizer, self.built, self.parts, self.req.device,
                            self.train.eval_batch_size, self.train.precision)

    @classmethod
    def build(cls, req, run_dir, train, info, strat_cfg, stream, log, t_start) -> _Session:
        from benchmark.models import count_parameters
        from benchmark.training.template import TrimHeapEvery, make_template
        from strategies import StrategyContext

        lines: list[str] = []

        def say(msg: str) -> None:
            lines.append(msg)
            log(msg)

        torch.set_num_threads(train.threads)
        requested, train = train, configure_device(train, req.device, say)
        map_large_allocations()  # before the features and the model are allocated
        seed_everything(req.seed)
        corpus = ensure_corpus(req.corpus, train.corpus_size, say) if stream.uses_synthslu7 \
            else None
        locations = None
        if stream.sources:  # a user stream file: real corpora are decoded and cached on first use
            from benchmark.stream_file import prepare_sources

            locations, prepared = prepare_sources(stream, corpus, say, req.skip_bad)
            atomic_write_json(run_dir / "sources.json", prepared)
        seed_everything(req.seed)
        backbone, built = build_backbone_and_stream(train, stream, corpus, say, locations)
        model = backbone.model.to(req.device)
        ctx = StrategyContext(model, backbone.tokenizer, stream, train, req.device, say,
                              req.seed, req.progress)
        parts = info.build(strat_cfg, ctx)
        config = {"run": dataclasses.asdict(req), "train": dataclasses.asdict(requested),
                  "strategy": dataclasses.asdict(strat_cfg), "corpus": str(corpus),
                  "stream_experiences": [list(e) for e in stream.experiences]}
        if stream.sources:
            config["stream_sources"] = {n: src.as_dict() for n, src in stream.sources.items()}
            # the cache folder names carry a hash of the files read: --resume after the data
            # changed is refused like any other config change
            config["prepared_data"] = {f"{s}/{split}": Path(loc[0]).name
                                       for (s, split), loc in sorted(locations.items())}
        loggers = RunLoggers(req.loggers, run_dir, config)
        template = make_template(model, backbone.tokenizer, train, req.device,
                                 plugins=[*parts.plugins, TrimHeapEvery(50), loggers.plugin()],
                                 progress=req.progress, n_experiences=len(stream.experiences))
        return cls(req, run_dir, train, stream, built, model, backbone.tokenizer, parts, template,
                   config, count_parameters(model), loggers, lines, log, t_start)


@dataclass
class _Progress:
    """What the experience loop accumulates; saved in every checkpoint."""
    state: dict
    baseline: dict  # metrics of the untrained model, per subset
    start: int  # experiences already done (resumed)
    elapsed_before: float  # wall seconds of the run before it was resumed
    fingerprint: str


def _start(s: _Session) -> _Progress:
    """Resume from checkpoint.pt, or start: a fresh state and the untrained model's metrics."""
    req, ckpt_path = s.req, s.run_dir / "checkpoint.pt"
    fingerprint = checkpoint.fingerprint(s.config)
    if req.resume and ckpt_path.exists() and not req.overwrite:
        if not s.parts.resumable:
            raise UserError(f"strategy '{req.strategy}' does not support --resume yet; "
                            "rerun with --overwrite")
        ckpt = checkpoint.load(ckpt_path, fingerprint)
        checkpoint.restore_into(ckpt, s.model, s.parts, s.template.clock)
        progress = _Progress(ckpt["state"], ckpt["baseline"], int(ckpt["completed"]),
                             float(ckpt["elapsed"]), fingerprint)
        truncate_evals(s.run_dir / "evals.jsonl", progress.start)
        s.loggers.start(resume=(progress.start, s.template.clock.train_iterations))
        s.say(f"resuming {s.run_dir} after experience {progress.start}/"
              f"{len(s.stream.experiences)}")
    else:
        if req.resume:
            s.say(f"nothing to resume in {s.run_dir}; starting from the beginning")
        ckpt_path.unlink(missing_ok=True)
        (s.run_dir / "evals.jsonl").unlink(missing_ok=True)
        state = {"per_task": {sub: {} for sub in s.subsets}, "score_rows": [],
                 "train_seconds": [], "eval_seconds": [], "updated_params": [],
                 "extra_state": [], "params_used": [], "peak_rss_mib": [],
                 "cpu_seconds": {"train": [], "eval": []}}
        progress = _Progress(state, s.evaluate(), 0, 0.0, fingerprint)
        s.loggers.start(resume=None)
        for sub in s.subsets:  # R's row 0: the untrained model
            s.loggers.log(f"R/{sub}", _score(sub, progress.baseline[sub]), 0)
    atomic_write_json(s.run_dir / "config.json", s.config)
    env_path = s.run_dir / "environment.json"
    env = {**environment(req.device), "precision_used": s.train.precision,
           "tf32": torch.device(req.device).type == "cuda"}
    previous = _read_json_or_none(env_path) if progress.start else None
    atomic_write_json(env_path, {**env, "sessions": run_sessions(previous, env, progress.start)})
    trainable = sum(p.numel() for p in s.model.parameters() if p.requires_grad)
    s.say(f"run {Path(req.stream).stem}/{req.strategy}/seed{req.seed} profile={req.profile}: "
          f"{len(s.stream.experiences)} experiences, train sizes {s.built.train_sizes}, "
          f"model {s.train.model} {s.params['total']:,} params ({trainable:,} trainable)")
    return progress


def _read_json_or_none(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _score(subset: str, metrics: dict) -> float:
    return score(TASKS[SUBSETS[subset]].kind, metrics)


def changed_parameters(before: dict[str, torch.Tensor], model) -> int:
    """Number of parameter elements whose value differs from the snapshot (what an experience
    actually updated; counted, not assumed from the strategy's intent)."""
    return int(sum((p.detach() != before[n]).sum().item() for n, p in model.named_parameters()))


def _params_used(s: _Session, subset: str) -> int:
    """Parameters the model uses for `subset`: the strategy's count, or all when it keeps no
    masks (None). A count of 0 stays 0."""
    used = s.parts.params_used(subset)
    return s.params["total"] if used is None else used


def _train_experiences(s: _Session, p: _Progress) -> str | None:
    """Train and evaluate each remaining experience, checkpointing after each. Returns why the
    run stopped early (None: it did not)."""
    from benchmark.training.template import NonFiniteLoss

    state, n = p.state, len(s.stream.experiences)
    try:
        for i, exp in enumerate(s.built.benchmark.train_stream):
            if i < p.start:
                continue
            before = {k: v.detach().clone() for k, v in s.model.named_parameters()}
            # a checkpoint always has it: one from code before it was recorded won't resume
            cpu = state["cpu_seconds"]
            t0, c0 = time.perf_counter(), time.process_time()
            s.template.train(exp, eval_streams=[])
            state["train_seconds"].append(time.perf_counter() - t0)
            cpu["train"].append(time.process_time() - c0)
            release_free_memory()
            state["updated_params"].append(changed_parameters(before, s.model))
            t0, c0 = time.perf_counter(), time.process_time()
            res = s.evaluate()
            state["eval_seconds"].append(time.perf_counter() - t0)
            cpu["eval"].append(time.process_time() - c0)
            row = [_score(sub, res[sub]) for sub in s.subsets]
            with open(s.run_dir / "evals.jsonl", "a") as f:
                for sub in s.subsets:
                    for k, v in res[sub].items():
                        state["per_task"][sub].setdefault(k, []).append(v)
                    f.write(json.dumps({"experience": i, "trained": list(s.stream.experiences[i]),
                                        "subset": sub, **res[sub]}, sort_keys=True) + "\n")
            state["score_rows"].append(row)
            for sub, value in zip(s.subsets, row, strict=True):
                s.loggers.log(f"R/{sub}", value, i + 1)
            state["extra_state"].append(s.parts.extra_state())
            state["params_used"].append({sub: _params_used(s, sub) for sub in s.subsets})
            state["peak_rss_mib"].append(round(peak_rss_mib(), 1))
            s.say(f"exp {i + 1}/{n} {'+'.join(s.stream.experiences[i])}: "
                  f"train {state['train_seconds'][-1]:.1f}s eval {state['eval_seconds'][-1]:.1f}s "
                  f"peak RSS {state['peak_rss_mib'][-1]:,.0f} MiB "
                  + " ".join(f"{sub}={v:.1f}" for sub, v in zip(s.subsets, row, strict=True)))
            _write_metrics(s, p, complete=False, reason="running")
            if s.parts.resumable:  # a checkpoint nothing can resume from is dead weight
                checkpoint.save(s.run_dir / "checkpoint.pt", fingerprint=p.fingerprint,
                                completed=i + 1, model=s.model, strategy=s.parts.checkpoint(),
                                clock=s.template.clock, state=state, baseline=p.baseline,
                                elapsed=p.elapsed_before + time.perf_counter() - s.t_start)
    except NonFiniteLoss as exc:
        return f"stopped: {exc}"
    except KeyboardInterrupt:
        return "interrupted by the user"
    return None


def _write_metrics(s: _Session, p: _Progress, complete: bool, reason: str | None) -> dict | None:
    from benchmark.evaluation.cl_metrics import cl_summary

    state, R = p.state, p.state["score_rows"]
    baseline_scores = [_score(sub, p.baseline[sub]) for sub in s.subsets]
    summary = cl_summary(np.array(R), higher_is_better=True,
                         train_exp_of_task=s.stream.trained_at(),
                         first_train_exp_of_task=s.stream.trained_at("first"),
                         baseline=np.array(baseline_scores), task_names=s.subsets) \
        if len(R) == len(s.stream.experiences) else None
    req = s.req
    atomic_write_json(s.run_dir / "metrics.json", {
        "complete": complete, "incomplete_reason": reason,
        "resumable": s.parts.resumable,  # an unfinished run continues with --resume
        "stream": req.stream, "strategy": req.strategy, "seed": req.seed,
        "profile": req.profile, "experiences": [list(e) for e in s.stream.experiences],
        "eval_subsets": s.subsets, "trained_at": s.stream.trained_at(),
        "score": {"definition": SCORE_DEFINITION, "R": R, "baseline": baseline_scores,
                  "summary": summary},
        "per_task": state["per_task"],
        "baseline_metrics": p.baseline,
        "params": {"total": s.params["total"], "by_module": s.params,
                   "updated_per_experience": state["updated_params"],
                   "used_per_task": state["params_used"],
                   "extra_state": state["extra_state"]},
        "wall_seconds": {"train": state["train_seconds"], "eval": state["eval_seconds"],
                         "total": p.elapsed_before + time.perf_counter() - s.t_start},
        # the process's peak resident size after each experience (memory.peak_rss_mib); a
        # resumed run's values count from its resume
        "peak_rss_mib": state["peak_rss_mib"],
        # CPU time of the process, all its threads (data loading runs in-process). Over the
        # wall time it says how much of its cores the run had: about `threads` when nothing
        # else ran beside it, less when something shared them.
        "cpu_seconds": state["cpu_seconds"],
    })
    return summary


def _finish(s: _Session, p: _Progress, reason: str | None) -> Path:
    """model.pt, masks.json, the final metrics.json and run.log; the report when complete."""
    run_dir, ckpt_path = s.run_dir, s.run_dir / "checkpoint.pt"
    # the model before metrics.json: "complete" must not be on disk before what it vouches for
    strategy_state = s.parts.state_dict()
    atomic_torch_save(run_dir / "model.pt", {"model": s.model.state_dict(),
                                             "strategy": strategy_state})
    accounting = M.accounting_of_state(strategy_state, [SUBSETS[sub] for sub in s.subsets])
    if accounting is not None:  # subnet, packnet: small enough to commit (model.pt is not)
        atomic_write_json(run_dir / "masks.json", accounting)
    summary = _write_metrics(s, p, complete=reason is None, reason=reason)
    if summary is not None:
        for key in ("acc", "bwt", "fwt", "forgetting", "plasticity"):
            if isinstance(summary.get(key), int | float):
                s.loggers.log(f"summary/{key}", summary[key], len(p.state["score_rows"]))
    atomic_write_text(run_dir / "run.log", "\n".join(s.log_lines) + "\n")
    if reason:
        s.say(f"run incomplete ({reason}); partial results in {run_dir}")
        if reason.startswith("interrupted"):
            if not s.parts.resumable:
                raise Interrupted("run interrupted; this strategy cannot resume, so rerun it "
                                  "with --overwrite")
            if not ckpt_path.exists():
                raise Interrupted("run interrupted before its first experience ended; rerun it "
                                  "with --overwrite")
            raise Interrupted("run interrupted; continue it with the same command plus --resume")
        raise UserError(f"run stopped early ({reason}); partial results kept in "
                        f"{run_dir / 'metrics.json'}")
    from benchmark.reporting.report import write_run_report
    from benchmark.reporting.tables import summary_table

    s.say(summary_table(run_dir / "metrics.json"))

    s.say(f"report: {write_run_report(run_dir)}")
    atomic_write_text(run_dir / "run.log", "\n".join(s.log_lines) + "\n")
    ckpt_path.unlink(missing_ok=True)  # complete: model.pt and metrics.json hold the results
    return run_dir
