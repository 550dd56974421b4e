"""One sweep cell, (stream, strategy, seed, overrides) = one `benchmark run`, as a job that any
executor can run: a local worker thread, or a cluster job through submitit.

The job decides how to launch when it starts, from what its run folder holds: a complete run is
left alone, an incomplete one continues with --resume when its strategy checkpoints all its state
and a checkpoint is there (else it starts again with --overwrite), a missing one starts. So a
job that a cluster requeues after a timeout or a preemption continues from the run's last
finished experience. `CellJob` is a submitit `Checkpointable`: on SLURM's timeout/preemption
signal submitit requeues the same object, which then takes the --resume branch.

Each cell keeps its state in `<root>/sweep_logs/<stream>/<strategy>_seed<N>.state.json`
(queued, running, done or failed, with the job id, host, and the last line of a failure),
next to its console output `<strategy>_seed<N>.out`; `benchmark sweep --status` reads them.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.io import atomic_write_json

try:  # submitit is a pinned dependency; only cluster jobs need its requeue hook
    from submitit.helpers import Checkpointable
except ImportError:  # pragma: no cover
    Checkpointable = object


def run_status(run_dir: Path) -> tuple[str, str]:
    """('complete' | 'incomplete' | 'missing', reason) of a run folder."""
    mp = run_dir / "metrics.json"
    if not mp.exists():
        return "missing", ""
    try:
        m = json.loads(mp.read_text())
    except (OSError, json.JSONDecodeError):
        return "incomplete", "unreadable metrics.json"
    if m.get("complete"):
        return "complete", ""
    return "incomplete", str(m.get("incomplete_reason") or "unknown")


def can_resume(run_dir: Path) -> bool:
    """An unfinished run whose strategy checkpoints all its state, with its checkpoint there."""
    try:
        m = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(m.get("resumable")) and (run_dir / "checkpoint.pt").is_file()


def write_state(path: Path, state: str, fresh: bool = False, **info) -> None:
    """Record a cell's state (atomic: --status may read it at any moment). The executor and
    job id of the current submission are kept, unless `fresh` (a new sweep plans the cell)."""
    old = {} if fresh else read_state(path) or {}
    keep = {k: old[k] for k in ("executor", "job_id", "submitted") if k in old}
    atomic_write_json(path, {**keep, **info, "state": state, "updated": time.time()})


def add_to_state(path: Path, **info) -> None:
    """Add keys (the job id once submitted) without touching the state, which the job itself
    may already have moved on. (Read-modify-write: a job that starts within these
    microseconds may lose its "running" to "queued" until its next write.)"""
    old = read_state(path) or {"state": "queued"}
    atomic_write_json(path, {**old, **info})


def holder_pid(run_dir: Path) -> int | None:
    """The pid of the live process on this host that holds the run's lock, else None. Read
    from the lock file, not by locking it (a probe lock could make a starting run fail)."""
    try:
        pid = int((run_dir / ".lock").read_text().strip() or 0)
        if pid > 0:
            os.kill(pid, 0)
            return pid
    except (OSError, ValueError):
        pass
    return None


def read_state(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class CellJob(Checkpointable):
    """Run one cell's `benchmark run` (see the module docstring). `head` is the command up to
    the run flags, `tail` the overrides; the launch flag goes between them."""
    strategy: str
    seed: int
    run_dir: str
    head: list[str]
    tail: list[str]
    threads: str
    console: str
    state_path: str
    sweep_log: str
    env: dict[str, str] = field(default_factory=dict)  # extra variables for the run

    def note(self, msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n"
        with open(self.sweep_log, "a") as f:  # one short O_APPEND write per line (on NFS,
            f.write(line)                       # lines of concurrent jobs may interleave)
        print(line, end="", flush=True)  # the sweep's console, or the cluster job's log

    def __call__(self) -> tuple[str, float, str]:
        """(status 'done' | 'skipped' | 'failed', seconds, detail)."""
        run_dir, state = Path(self.run_dir), Path(self.state_path)
        status, reason = run_status(run_dir)
        if status == "complete":  # e.g. a requeued job whose run had ended
            write_state(state, "done", detail="complete")
            return "skipped", 0.0, "complete"
        cmd, what = list(self.head), "start"
        if status == "incomplete":
            flag = "--resume" if can_resume(run_dir) else "--overwrite"
            cmd.append(flag)
            what = f"rerun (incomplete: {reason}) with {flag}"
        cmd += [*self.tail, f"threads={self.threads}"]
        self.note(f"{what} {self.strategy} seed{self.seed}: {' '.join(cmd[1:])}")
        write_state(state, "running", host=socket.gethostname(), pid=os.getpid(),
                    command=" ".join(cmd[1:]))
        env = dict(os.environ, OMP_NUM_THREADS=self.threads, MKL_NUM_THREADS=self.threads,
                   **self.env)
        t0 = time.perf_counter()
        with open(self.console, "a") as f:  # appended: a requeued job keeps its earlier output
            f.write(f"$ {' '.join(cmd[1:])}\n")
            f.flush()
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                                check=False).returncode
        dt = time.perf_counter() - t0
        if rc < 0:  # killed (preemption, timeout, kill): a requeued job or a rerun resumes it
            detail = f"killed by signal {-rc}"
            self.note(f"STOPPED {self.strategy} seed{self.seed} ({detail}, {dt:.1f} s)")
            write_state(state, "stopped", seconds=dt, error=detail)
            return "failed", dt, detail
        if rc == 0:
            self.note(f"done {self.strategy} seed{self.seed} in {dt:.1f} s -> {run_dir}")
            write_state(state, "done", seconds=dt)
            return "done", dt, ""
        lines = [ln for ln in Path(self.console).read_text().splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
        self.note(f"FAILED {self.strategy} seed{self.seed} (exit {rc}, {dt:.1f} s): {last} "
                  f"[full output: {self.console}]")
        write_state(state, "failed", seconds=dt, exit_code=rc, error=last)
        return "failed", dt, last
