"""Where a sweep's cells run.

- `local` (default): N worker threads on this machine, each running one cell's `benchmark run`
  process at a time (1 CPU thread each unless `threads=` says otherwise).
- `slurm`: one SLURM job array through submitit, one array task per cell, at most `--jobs` at a
  time. Submitit pickles each `CellJob` into `<root>/sweep_jobs/<stream>/` (which must be on a
  file system the nodes share), and on SLURM's timeout or preemption signal it requeues the job,
  which then continues the run with --resume. `sweep` returns once the array is submitted unless
  `wait=True`.
- `submitit-local` / `submitit-debug`: the same submitit path through submitit's own local
  process executor and in-process debug executor: the cluster code path without a cluster.

We don't schedule anything ourselves: submitit writes the sbatch script, submits the array and
handles requeueing.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import UserError
from benchmark.runner.cell import CellJob, add_to_state, write_state

EXECUTORS = ("local", "slurm", "submitit-local", "submitit-debug")


@dataclass
class ClusterOptions:
    """SLURM resources per cell (submitit's AutoExecutor names, without the `slurm_` prefix
    where submitit has a generic one). Unset values are left to the cluster's defaults."""
    partition: str | None = None
    time_min: int = 24 * 60  # per job; a run past it is requeued and resumes
    gpus: int = 0
    cpus: int = 1
    mem_gb: float | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    setup: tuple[str, ...] = ()  # shell lines before the job (module load, venv activation)

    def submitit_parameters(self, parallelism: int, name: str) -> dict:
        p = {"timeout_min": self.time_min, "cpus_per_task": self.cpus, "nodes": 1,
             "tasks_per_node": 1, "name": name, "slurm_array_parallelism": parallelism}
        if self.gpus:
            p["gpus_per_node"] = self.gpus
        if self.mem_gb is not None:
            p["mem_gb"] = self.mem_gb
        for key in ("partition", "account", "qos", "constraint"):
            if getattr(self, key) is not None:
                p[f"slurm_{key}"] = getattr(self, key)
        if self.setup:
            p["slurm_setup"] = list(self.setup)
        return p


def run_local(jobs: list[CellJob], workers: int) -> list[tuple[str, float, str]]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def submit(jobs: list[CellJob], executor: str, folder: Path, workers: int,
           cluster: ClusterOptions, name: str, wait: bool, note) -> list[tuple[str, float, str]]:
    """Run `jobs` through submitit (see the module docstring). Returns each cell's outcome when
    waiting, else ('submitted', 0, job id) per cell."""
    import submitit

    kind = {"slurm": "slurm", "submitit-local": "local", "submitit-debug": "debug"}[executor]
    try:
        ex = submitit.AutoExecutor(folder=folder / "%j", cluster=kind)
    except RuntimeError as exc:  # submitit: 'Could not detect "srun"'
        raise UserError(f"--executor {executor}: {exc}; run the sweep on a SLURM login node, "
                        "or use --executor local") from exc
    # AutoExecutor maps the generic keys per cluster and ignores other clusters' slurm_* keys
    ex.update_parameters(**cluster.submitit_parameters(workers, name))
    with ex.batch():  # one array: one sbatch for every cell
        handles = [ex.submit(job) for job in jobs]
    for job, handle in zip(jobs, handles, strict=True):
        add_to_state(Path(job.state_path), job_id=handle.job_id, submitted=time.time())
        note(f"queued {job.strategy} seed{job.seed} as {executor} job {handle.job_id}")
    if not wait:
        return [("submitted", 0.0, h.job_id) for h in handles]
    outcomes = []
    for job, handle in zip(jobs, handles, strict=True):
        try:
            outcomes.append(handle.result())
        except (submitit.core.utils.UncompletedJobError,
                submitit.core.utils.FailedJobError) as exc:  # died outside the run: node, scancel
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
            write_state(Path(job.state_path), "failed", error=detail)
            note(f"FAILED {job.strategy} seed{job.seed}: job {handle.job_id}: {detail}")
            outcomes.append(("failed", 0.0, detail))
    return outcomes
