"""`benchmark sweep --status DIR`: each cell's state, from the files the sweep and its jobs keep
(benchmark.runner.cell) checked against the run folders themselves.

A run whose metrics.json says complete is done whatever its state file says. A cell recorded
as running on this host whose run lock names no live process has no process behind it any more
(killed, or its machine rebooted): it is shown as "stopped" (the same sweep command resumes
it). On another host (a cluster node) the recorded state is shown as it is, with its job id;
where `sacct` is there (a SLURM login node), SLURM's own state of each queued or running job is
shown too, and a job SLURM ended without the run ending (cancelled, timed out past its requeues,
node failure, out of memory) is a failed cell.
"""
from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

from benchmark.errors import UserError
from benchmark.runner.cell import holder_pid, read_state, run_status


def slurm_states(job_ids: list[str]) -> dict[str, str]:
    """SLURM's state of each job (one `sacct` call, through submitit's watcher); {} without
    sacct."""
    if not job_ids or shutil.which("sacct") is None:
        return {}
    from submitit.slurm.slurm import SlurmInfoWatcher

    watcher = SlurmInfoWatcher()
    for job_id in job_ids:
        watcher.register_job(job_id)
    watcher.update()
    return {j: watcher.get_state(j, mode="cache") for j in job_ids}


ACTIVE = ("PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "COMPLETING",
          "CONFIGURING", "RESIZING", "SUSPENDED", "PREEMPTED", "STOPPED", "SIGNALING",
          "STAGE_OUT", "UNKNOWN")


def _progress(run_dir: Path) -> str:
    try:
        m = json.loads((run_dir / "metrics.json").read_text())
        return f"{len(m['score']['R'])}/{len(m['experiences'])} experiences"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def cell_states(root: str | Path) -> list[dict]:
    """One row per cell of every stream swept into `root`: stream, strategy, seed, state,
    job, age (seconds since the state changed), detail."""
    root = Path(root)
    files = sorted((root / "sweep_logs").glob("*/*.state.json"))
    if not files:
        raise UserError(f"no sweep cells under {root}/sweep_logs; give the --out of a sweep")
    rows, here = [], socket.gethostname()
    infos = {path: read_state(path) for path in files}
    slurm = slurm_states([i["job_id"] for i in infos.values()
                          if i and i.get("executor") == "slurm" and i.get("job_id")
                          and i.get("state") in ("queued", "running")])
    for path in files:
        stream = path.parent.name
        strategy, _, seed = path.name.removesuffix(".state.json").rpartition("_seed")
        info = infos[path] or {"state": "unknown", "error": f"unreadable {path.name}"}
        run_dir = root / stream / strategy / f"seed{seed}"
        state, detail = info.get("state", "unknown"), info.get("error", "")
        if run_status(run_dir)[0] == "complete":
            state, detail = "done", ""
        elif info.get("job_id") in slurm:
            theirs = slurm[info["job_id"]]
            if theirs.split()[0] not in ACTIVE:  # SLURM ended it, the run did not end
                state, detail = "failed", f"SLURM: {theirs}"
            else:
                state = "running" if theirs == "RUNNING" else state
                detail = " ".join(x for x in (f"SLURM: {theirs}", info.get("host", ""),
                                              _progress(run_dir)) if x)
        elif state == "running":
            if info.get("host") == here and holder_pid(run_dir) is None:
                state, detail = "stopped", "no process holds the run; rerun the sweep to resume"
            else:
                detail = " ".join(x for x in (info.get("host", ""), _progress(run_dir)) if x)
        rows.append({"stream": stream, "strategy": strategy, "seed": int(seed), "state": state,
                     "job": info.get("job_id", ""),
                     "age": time.time() - info.get("updated", time.time()), "detail": detail})
    return rows


def format_states(rows: list[dict]) -> str:
    header = (f"{'stream':<12} {'strategy':<10} {'seed':>4}  {'state':<8} {'job':<12} "
              f"{'since':>8}  detail")
    lines = [header]
    for r in rows:
        since = f"{r['age'] / 60:.0f} min" if r["age"] >= 60 else f"{r['age']:.0f} s"
        lines.append(f"{r['stream']:<12} {r['strategy']:<10} {r['seed']:>4}  {r['state']:<8} "
                     f"{r['job']:<12} {since:>8}  {r['detail']}")
    counts = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    lines.append(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines)
