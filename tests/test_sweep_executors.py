"""`benchmark sweep --executor`: cells through submitit's own debug and local executors (real
runs), the SLURM array script submitit writes (submitted to a stand-in `sbatch` on PATH, no
cluster), requeue with --resume, and `--status`."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import submitit

from benchmark.errors import UserError
from benchmark.runner.cell import CellJob, write_state
from benchmark.runner.executors import ClusterOptions
from benchmark.runner.status import cell_states, format_states
from benchmark.runner.sweep import SweepRequest, sweep

FAST = ["epochs=1", "max_train_per_subset=32", "max_eval_per_subset=16"]


def _req(tmp_path, corpus, executor, strategies=("naive",), **kw) -> SweepRequest:
    return SweepRequest(stream="three_task", strategies=list(strategies), seeds=[0], jobs=2,
                        profile="quick", out=str(tmp_path), corpus=str(corpus),
                        overrides=FAST, executor=executor, **kw)


@pytest.mark.parametrize("executor", ["submitit-debug", "submitit-local"])
def test_submitit_executors_run_the_cells(quick_corpus, tmp_path, executor):
    outcomes, report_dir = sweep(_req(tmp_path, quick_corpus, executor), log=lambda *a: None)
    assert [(o.strategy, o.status) for o in outcomes] == [("naive", "done")]
    metrics = json.loads((tmp_path / "three_task" / "naive" / "seed0" / "metrics.json")
                         .read_text())
    assert metrics["complete"] is True
    assert (report_dir / "summary.md").exists()
    log = (tmp_path / "sweep-three_task.log").read_text()
    assert f"queued naive seed0 as {executor} job" in log and "done naive seed0" in log
    assert any((tmp_path / "sweep_jobs" / "three_task").iterdir())  # submitit's job folder
    state = json.loads((tmp_path / "sweep_logs" / "three_task" / "naive_seed0.state.json")
                       .read_text())  # what the job itself wrote, not inferred from the run
    assert (state["state"], state["executor"]) == ("done", executor) and state["job_id"]
    [row] = cell_states(tmp_path)
    assert (row["strategy"], row["seed"], row["state"]) == ("naive", 0, "done")
    # a second sweep skips the finished cell without submitting anything
    outcomes, _ = sweep(_req(tmp_path, quick_corpus, executor), log=lambda *a: None)
    assert [o.status for o in outcomes] == ["skipped"]


def _echo_job(tmp_path: Path, run_dir: Path) -> CellJob:
    """A cell whose 'run' prints its own arguments: what it launches is what is checked."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    return CellJob(strategy="naive", seed=0, run_dir=str(run_dir),
                   head=[sys.executable, "-c", "import sys; print(sys.argv[1:])"],
                   tail=["epochs=1"], threads="1", console=str(logs / "naive_seed0.out"),
                   state_path=str(logs / "naive_seed0.state.json"),
                   sweep_log=str(tmp_path / "sweep.log"))


def test_a_requeued_cell_resumes_its_run(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    job = _echo_job(tmp_path, run_dir)
    # what submitit calls on SLURM's timeout/preemption signal: the same job, resubmitted
    again = job.checkpoint()
    assert isinstance(again, submitit.helpers.DelayedSubmission) and again.function is job
    assert job()[0] == "done"  # nothing on disk: a fresh start
    (run_dir / "metrics.json").write_text(json.dumps(
        {"complete": False, "resumable": True, "incomplete_reason": "killed"}))
    (run_dir / "checkpoint.pt").write_bytes(b"")
    assert job()[0] == "done"
    (run_dir / "checkpoint.pt").unlink()  # killed before its first checkpoint
    assert job()[0] == "done"
    launches = [ln for ln in Path(job.console).read_text().splitlines() if ln.startswith("$")]
    assert [("--resume" in ln, "--overwrite" in ln) for ln in launches] == [
        (False, False), (True, False), (False, True)]
    assert all(ln.endswith("epochs=1 threads=1") for ln in launches)
    (run_dir / "metrics.json").write_text(json.dumps({"complete": True}))
    assert job() == ("skipped", 0.0, "complete")  # a job requeued after its run ended


def test_a_failed_cell_keeps_its_last_error_line(tmp_path):
    job = _echo_job(tmp_path, tmp_path / "run")
    job.head = [sys.executable, "-c", "raise SystemExit('error: corpus not found')"]
    status, _, detail = job()
    assert (status, detail) == ("failed", "error: corpus not found")
    state = json.loads(Path(job.state_path).read_text())
    assert state["state"] == "failed" and state["exit_code"] == 1


def _fake_slurm(bin_dir: Path, record: Path) -> None:
    """`srun` (submitit checks it exists) and an `sbatch` that keeps the script it is given."""
    bin_dir.mkdir()
    scripts = {"srun": "#!/bin/sh\nexit 0\n",
               "sbatch": f"#!/bin/sh\ncp \"$1\" {record}\necho 'Submitted batch job 4242'\n"}
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)


def test_slurm_submits_one_array_with_the_cluster_options(quick_corpus, tmp_path, monkeypatch):
    record = tmp_path / "submitted.sh"
    _fake_slurm(tmp_path / "bin", record)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    cluster = ClusterOptions(partition="gpu", time_min=120, gpus=1, cpus=4, mem_gb=16,
                             setup=("source /shared/venv/bin/activate",))
    out = tmp_path / "out"
    req = _req(out, quick_corpus, "slurm", strategies=("naive", "ewc", "subnet"),
               cluster=cluster, wait=False)
    outcomes, _ = sweep(req, log=lambda *a: None)
    assert [o.status for o in outcomes] == ["submitted"] * 3
    assert [o.detail for o in outcomes] == ["4242_0", "4242_1", "4242_2"]
    script = record.read_text()
    for line in ("#SBATCH --array=0-2%2", "#SBATCH --partition=gpu", "#SBATCH --time=120",
                 "#SBATCH --gpus-per-node=1", "#SBATCH --cpus-per-task=4",
                 "#SBATCH --mem=16GB", "#SBATCH --signal=USR2@90",
                 "#SBATCH --job-name=sweep-three_task",
                 "source /shared/venv/bin/activate"):
        assert line in script.splitlines(), (line, script)
    assert f"{sys.executable} -u -m submitit.core._submit" in script
    # one pickled CellJob per array task, in the sweep's job folder
    assert len(list((out / "sweep_jobs" / "three_task").rglob("*_submitted.pkl"))) == 3
    rows = cell_states(out)
    assert [(r["strategy"], r["state"], r["job"]) for r in rows] == [
        ("ewc", "queued", "4242_1"), ("naive", "queued", "4242_0"),
        ("subnet", "queued", "4242_2")]
    assert "3 queued" in format_states(rows)
    # on a login node, SLURM's own view (sacct) joins in: a job it ended is a failed cell
    sacct = tmp_path / "bin" / "sacct"
    sacct.write_text("#!/bin/sh\necho 'JobID|State|NodeList'\necho '4242_0|RUNNING|node7'\n"
                     "echo '4242_1|PENDING|'\necho '4242_2|CANCELLED by 1000|'\n")
    sacct.chmod(stat.S_IRWXU)
    rows = {r["strategy"]: r for r in cell_states(out)}
    assert (rows["naive"]["state"], rows["naive"]["detail"]) == ("running", "SLURM: RUNNING")
    assert (rows["ewc"]["state"], rows["ewc"]["detail"]) == ("queued", "SLURM: PENDING")
    assert (rows["subnet"]["state"], rows["subnet"]["detail"]) == (
        "failed", "SLURM: CANCELLED by 1000")
    # sweeping again submits only the cell SLURM no longer has
    outcomes, _ = sweep(req, log=lambda *a: None)
    assert [(o.strategy, o.status) for o in outcomes] == [
        ("naive", "skipped"), ("ewc", "skipped"), ("subnet", "submitted")]
    assert "already queued as SLURM job 4242_1 (PENDING)" in outcomes[1].detail
    assert "#SBATCH --array" not in record.read_text()  # one cell: a plain job, not an array


def test_status_tells_a_stopped_cell_from_a_running_one(tmp_path):
    logs = tmp_path / "sweep_logs" / "three_task"
    run_dir = tmp_path / "three_task" / "naive" / "seed0"
    run_dir.mkdir(parents=True)
    write_state(logs / "naive_seed0.state.json", "running", host=socket.gethostname(), pid=1)
    assert cell_states(tmp_path)[0]["state"] == "stopped"  # nothing holds the run's lock
    from benchmark.runner.layout import RunLock

    with RunLock(run_dir):
        assert cell_states(tmp_path)[0]["state"] == "running"
    (run_dir / "metrics.json").write_text(json.dumps({"complete": True}))
    assert cell_states(tmp_path)[0]["state"] == "done"
    with pytest.raises(UserError, match="no sweep cells"):
        cell_states(tmp_path / "elsewhere")


def test_slurm_without_a_cluster_is_one_clear_error(quick_corpus, tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}")  # no srun there
    proc = subprocess.run([sys.executable, "-m", "benchmark.cli", "sweep", "--stream",
                           "three_task", "--strategies", "naive", "--seeds", "0", "--profile",
                           "quick", "--corpus", str(quick_corpus), "--out", str(tmp_path),
                           "--executor", "slurm", *FAST], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: --executor slurm:") and "--executor local" in line


def test_cluster_options_from_a_file_and_flags(tmp_path):
    from benchmark.cli import _cluster_options, build_parser

    cfg = tmp_path / "slurm.yaml"
    cfg.write_text("partition: gpu\ngpus: 1\ncpus: 8\nmem_gb: 32\nsetup: [module load cuda]\n")
    args = build_parser().parse_args(["sweep", "--stream", "three_task", "--cluster-config",
                                      str(cfg), "--cpus", "4", "--time-min", "90"])
    opts = _cluster_options(args)
    assert (opts.partition, opts.gpus, opts.cpus, opts.mem_gb, opts.time_min, opts.setup) == (
        "gpu", 1, 4, 32, 90, ("module load cuda",))  # flags win over the file
    cfg.write_text("partition: gpu\ngpu: 1\n")
    with pytest.raises(UserError, match=r"unknown keys \['gpu'\]"):
        _cluster_options(build_parser().parse_args(["sweep", "--cluster-config", str(cfg)]))


def test_a_cell_whose_run_is_held_is_not_started_twice(quick_corpus, tmp_path):
    from benchmark.runner.layout import RunLock

    run_dir = tmp_path / "three_task" / "naive" / "seed0"
    run_dir.mkdir(parents=True)
    with RunLock(run_dir):  # e.g. a run an earlier sweep started, still going
        outcomes, _ = sweep(_req(tmp_path, quick_corpus, "local"), log=lambda *a: None)
    assert [(o.status, o.detail) for o in outcomes] == [
        ("skipped", f"already running (pid {os.getpid()})")]
    assert not (run_dir / "metrics.json").exists()
