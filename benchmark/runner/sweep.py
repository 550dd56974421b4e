"""`benchmark sweep`: run a grid of strategies x seeds on one stream, then report it.

Each cell is a subprocess `python -m benchmark.cli run ... --no-progress` with
OMP_NUM_THREADS=1 and the override `threads=1` (so `--jobs N` uses about N cores), run by N
local workers, or as one SLURM job array through submitit (`executor`, see
benchmark.runner.executors; the cell itself is benchmark.runner.cell.CellJob). A run whose
metrics.json says complete=true is skipped; an incomplete one
continues from its last finished experience with --resume when its strategy supports that and a
checkpoint is there, else it is run again from scratch with --overwrite. A folder that holds a
run made with other settings (config.json differs from the sweep's train/strategy config,
threads included) is never skipped, resumed or overwritten: that cell fails with the differing
keys. Into the repository's own results/ the sweep runs only from a clean tree (--allow-dirty
overrides), and its report refuses runs of different code or threads (--allow-mixed).
Training overrides (TrainConfig keys) go to every run; a strategy option (e.g. sparsity=0.67)
goes only to the strategies that have it.

Files: <out>/sweep-<stream>.log (one line per event, appended across sweeps),
<out>/sweep_logs/<stream>/<strategy>_seed<N>.out (each run's console output) and .state.json
(queued, running, done or failed: `benchmark sweep --status`), submitit's job folders in
<out>/sweep_jobs/<stream>/, and the report of every complete run of the stream in
<out>/report/<stream>/ (see benchmark.reporting.report).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmark.config import TrainConfig, profile_config
from benchmark.errors import UserError
from benchmark.runner.cell import (
    CellJob,
    can_resume,
    holder_pid,
    read_state,
    run_status,
    write_state,
)
from benchmark.runner.executors import EXECUTORS, ClusterOptions, run_local, submit

__all__ = ["Outcome", "SweepRequest", "can_resume", "overrides_for", "run_status", "sweep"]


@dataclass
class SweepRequest:
    stream: str
    strategies: list[str]
    seeds: list[int]
    jobs: int = 1
    profile: str = "default"
    out: str | None = None
    corpus: str | None = None
    device: str = "cpu"
    overrides: list[str] = dataclasses.field(default_factory=list)
    allow_dirty: bool = False  # runs into the reference results/ from a tree with changes
    allow_mixed: bool = False  # report runs of different code, config or threads together
    executor: str = "local"  # local | slurm | submitit-local | submitit-debug
    cluster: ClusterOptions = dataclasses.field(default_factory=ClusterOptions)
    wait: bool = True  # slurm: wait for the array to end (and report), else return once queued
    loggers: list[str] = dataclasses.field(default_factory=list)  # each run's --logger


@dataclass
class Outcome:
    strategy: str
    seed: int
    status: str  # "skipped" | "done" | "failed" | "submitted" (slurm, not waiting)
    seconds: float = 0.0
    detail: str = ""


def results_root(req: SweepRequest) -> Path:
    """Where the runs go: --out, else the same default as `benchmark run`."""
    if req.out:
        return Path(req.out)
    return Path("results") if req.profile == "default" else Path("results") / req.profile


def config_differences(run_dir: Path, strategy: str, profile: str,
                       overrides: list[str]) -> list[str]:
    """'key: on disk != asked' for every train/strategy setting where the run in `run_dir`
    differs from what the sweep would run now, the thread count included (it changes results:
    reductions are summed in another order). Keys an older run's config.json lacks are not
    compared (they did not exist when it ran)."""
    from benchmark.config import apply_overrides
    from strategies import get_strategy

    try:
        on_disk = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a run whose settings can't be read is not "the same"
        return [(f"config.json unreadable ({exc.__class__.__name__}); move the folder away or "
                "delete it")]
    train, strat_cfg = profile_config(profile), get_strategy(strategy).config()
    apply_overrides([strat_cfg, train], overrides_for(strategy, overrides))
    asked = {"train": dataclasses.asdict(train), "strategy": dataclasses.asdict(strat_cfg)}
    diffs = []
    for section, values in asked.items():
        old = on_disk.get(section) if isinstance(on_disk, dict) else None
        if not isinstance(old, dict):
            continue
        for key, value in values.items():
            if key in old and old[key] != value \
                    and not (_is_nan(old[key]) and _is_nan(value)):
                diffs.append(f"{key}: {old[key]!r} != {value!r}")
    return diffs


def _is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def overrides_for(strategy: str, overrides: list[str]) -> list[str]:
    """The overrides that apply to `strategy`: TrainConfig keys and the strategy's own keys."""
    from strategies import get_strategy

    keys = {f.name for f in dataclasses.fields(TrainConfig)}
    keys |= {f.name for f in dataclasses.fields(get_strategy(strategy).config)}
    return [o for o in overrides if o.split("=", 1)[0] in keys]


def validate(req: SweepRequest) -> None:
    """Fail fast, before any run starts, on a bad stream, strategy, profile or override."""
    from benchmark.config import apply_overrides
    from benchmark.streams import get_stream
    from strategies import get_strategy

    get_stream(req.stream)
    profile_config(req.profile)
    if req.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {req.jobs}")
    if "wandb" in req.loggers:  # before any job starts, not in each one
        from benchmark.runner.loggers import import_wandb

        import_wandb()
    if req.executor not in EXECUTORS:
        raise UserError(f"--executor must be one of {', '.join(EXECUTORS)}, got "
                        f"{req.executor!r}")
    if req.executor == "submitit-debug" and not req.wait:
        raise UserError("--executor submitit-debug runs the cells in this process while it "
                        "waits for them; drop --no-wait")
    if not req.strategies or not req.seeds:
        raise UserError("give at least one strategy (--strategies) and one seed (--seeds)")
    used: set[str] = set()
    for s in req.strategies:
        info = get_strategy(s)
        mine = overrides_for(s, req.overrides)
        apply_overrides([info.config(), profile_config(req.profile)], mine)  # type checks
        used.update(mine)
    for o in req.overrides:
        if "=" not in o:
            raise UserError(f"override '{o}' must look like key=value")
        if o not in used:
            raise UserError(f"override '{o}' applies to none of the strategies "
                            f"{','.join(req.strategies)}; see `benchmark list strategies`")


def _still_busy(state_path: Path, run_dir: Path) -> str:
    """Why an earlier submission still owns this cell ('' if none): a process on this host
    holds its run, or SLURM still has its job (queued or running)."""
    pid = holder_pid(run_dir)
    if pid is not None:
        return f"already running (pid {pid})"
    info = read_state(state_path) or {}
    if info.get("executor") == "slurm" and info.get("state") in ("queued", "running") \
            and info.get("job_id"):
        from benchmark.runner.status import ACTIVE, slurm_states

        theirs = slurm_states([info["job_id"]]).get(info["job_id"], "")
        if theirs and theirs.split(" ")[0] in ACTIVE and theirs != "UNKNOWN":
            return f"already {info['state']} as SLURM job {info['job_id']} ({theirs})"
    return ""


def sweep(req: SweepRequest, log=print) -> tuple[list[Outcome], Path]:
    """Run the grid (see the module docstring) and report it. Returns the outcome of every
    cell and the report folder. A run that fails is logged and does not stop the others."""
    from benchmark.provenance import check_reference_tree
    from benchmark.reporting.report import build_report
    from benchmark.runner.layout import RunRequest, run_dir_for

    validate(req)
    root = results_root(req).resolve()
    check_reference_tree(root, req.allow_dirty)
    stream_name = Path(req.stream).stem
    log_path = root / f"sweep-{stream_name}.log"
    out_dir = root / "sweep_logs" / stream_name
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    def note(msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        with lock:
            with open(log_path, "a") as f:
                f.write(line + "\n")
            log(line)

    user_threads = [o for o in req.overrides if o.startswith("threads=")]
    threads = user_threads[-1].split("=", 1)[1] if user_threads else "1"

    def plan(strategy: str, seed: int) -> Outcome | CellJob:
        """An Outcome for a cell that must not run (complete, or another experiment's
        folder), else its job."""
        run_dir = run_dir_for(RunRequest(stream=req.stream, strategy=strategy, seed=seed,
                                         profile=req.profile, out=str(root)))
        status, _ = run_status(run_dir)
        state = out_dir / f"{strategy}_seed{seed}.state.json"
        diffs = config_differences(run_dir, strategy, req.profile,
                                   [*req.overrides, f"threads={threads}"]) \
            if status != "missing" else []
        if diffs:  # never report, resume or overwrite a run of another experiment as this one
            detail = (f"{run_dir} holds a run with other settings ({'; '.join(diffs)}); "
                      "use another --out or delete that folder")
            note(f"FAILED {strategy} seed{seed}: {detail}")
            write_state(state, "failed", fresh=True, error=detail)
            return Outcome(strategy, seed, "failed", detail=detail)
        if status == "complete":
            note(f"skip {strategy} seed{seed}: complete ({run_dir})")
            write_state(state, "done", fresh=True, detail="complete")
            return Outcome(strategy, seed, "skipped", detail="complete")
        busy = _still_busy(state, run_dir)
        if busy:  # an earlier sweep's job has it: a second one would fight it for the run
            note(f"skip {strategy} seed{seed}: {busy}")
            return Outcome(strategy, seed, "skipped", detail=busy)
        ov = [o for o in overrides_for(strategy, req.overrides) if not o.startswith("threads=")]
        stream = req.stream  # a stream file: by absolute path, for jobs that start elsewhere
        if Path(stream).suffix in (".yaml", ".yml", ".toml"):
            stream = str(Path(stream).resolve())
        head = [sys.executable, "-m", "benchmark.cli", "run", "--stream", stream,
                "--strategy", strategy, "--seed", str(seed), "--profile", req.profile,
                "--device", req.device, "--out", str(root), "--no-progress"]
        if req.corpus:
            head += ["--corpus", str(Path(req.corpus).resolve())]
        if req.allow_dirty:
            head.append("--allow-dirty")
        if req.loggers:
            head += ["--logger", ",".join(req.loggers)]
        write_state(state, "queued", fresh=True, executor=req.executor)
        return CellJob(strategy=strategy, seed=seed, run_dir=str(run_dir), head=head, tail=ov,
                       threads=threads, console=str(out_dir / f"{strategy}_seed{seed}.out"),
                       state_path=str(state), sweep_log=str(log_path))

    cells = [(s, seed) for seed in req.seeds for s in req.strategies]
    note(f"sweep {req.stream}: {len(req.strategies)} strategies x {len(req.seeds)} seeds, "
         f"{req.jobs} job(s), profile {req.profile}, threads={threads}, out {root}"
         + ("" if req.executor == "local" else f", executor {req.executor}"))
    planned = [plan(*c) for c in cells]
    jobs = [p for p in planned if isinstance(p, CellJob)]
    if not jobs:
        results = []
    elif req.executor == "local":
        results = run_local(jobs, req.jobs)
    else:
        results = submit(jobs, req.executor, root / "sweep_jobs" / stream_name, req.jobs,
                         req.cluster, f"sweep-{stream_name}", req.wait, note)
    ran = iter(results)
    outcomes = [p if isinstance(p, Outcome) else Outcome(p.strategy, p.seed, *next(ran))
                for p in planned]
    if any(o.status == "submitted" for o in outcomes):
        note(f"sweep {req.stream}: {len(jobs)} cells queued; follow them with `benchmark sweep "
             f"--status {root}`, then report with `benchmark report {root / stream_name}`")
        return outcomes, root / "report" / stream_name
    counts = {k: sum(o.status == k for o in outcomes) for k in ("done", "skipped", "failed")}
    note(f"sweep {req.stream} finished: {counts['done']} run, {counts['skipped']} skipped "
         f"(complete), {counts['failed']} failed")
    report_dir = root / "report" / stream_name
    try:
        build_report([root / stream_name], report_dir, log=note, allow_mixed=req.allow_mixed)
    except UserError as exc:
        note(f"no report: {exc}")
    return outcomes, report_dir
