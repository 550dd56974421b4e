"""The run folder's crash safety: one writer (flock), atomic and fsynced files, torn
evals.jsonl lines, no silent fallbacks; and reporting imports without torch or Avalanche."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark import io
from benchmark.errors import UserError
from benchmark.runner.layout import RunLock, read_evals, read_metrics, truncate_evals


def test_reporting_imports_without_torch_or_avalanche():
    code = ("import sys, benchmark.reporting, benchmark.reporting.readme, benchmark.evaluation.scores; "
            "print(sorted(m for m in ('torch', 'avalanche') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_lock_is_exclusive_and_released(tmp_path):
    pid = __import__("os").getpid()
    with RunLock(tmp_path), pytest.raises(UserError, match=f"another run \\(pid {pid}\\)"):
        RunLock(tmp_path).__enter__()
    with RunLock(tmp_path):  # released on exit, and a leftover .lock file is no obstacle
        pass


def test_run_lock_held_by_a_killed_process_is_free(tmp_path):
    # the kernel drops a flock when its holder dies: no stale-lock takeover logic to race
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, time; from pathlib import Path; "
         "from benchmark.runner.layout import RunLock; lock = RunLock(Path(sys.argv[1])).__enter__(); "
         "print('locked', flush=True); time.sleep(60)"), str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(UserError, match="another run"):
        RunLock(tmp_path).__enter__()
    holder.kill()
    holder.wait()
    with RunLock(tmp_path):
        pass


def _evals(path: Path, lines: list[str]) -> None:
    path.write_text("".join(ln + "\n" for ln in lines))


def test_torn_last_evals_line_is_dropped_and_earlier_damage_is_an_error(tmp_path):
    path = tmp_path / "evals.jsonl"
    good = [json.dumps({"experience": e, "subset": "er"}) for e in (0, 1, 2)]
    _evals(path, [*good, '{"experience": 3, "sub'])  # killed mid-append
    assert read_evals(path, 2) == good[:2]
    truncate_evals(path, 3)
    assert path.read_text().splitlines() == good
    _evals(path, [good[0], '{"exper', good[1]])
    with pytest.raises(UserError, match="line 2 is not JSON"):
        read_evals(path, 2)


def test_unreadable_metrics_is_an_error_not_a_missing_run(tmp_path):
    assert read_metrics(tmp_path) is None
    (tmp_path / "metrics.json").write_text('{"complete": tr')
    with pytest.raises(UserError, match="cannot read .*metrics.json"):
        read_metrics(tmp_path)


def test_atomic_json_converts_numpy_and_refuses_other_types(tmp_path):
    io.atomic_write_json(tmp_path / "a.json", {"x": np.float32(0.5), "n": np.int64(3),
                                               "v": np.arange(2)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 0.5, "n": 3, "v": [0, 1]}
    with pytest.raises(TypeError, match="cannot write a Tensor to JSON"):
        io.atomic_write_json(tmp_path / "b.json", {"t": torch.ones(2)})
    assert not (tmp_path / "b.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temporary file left


def test_atomic_writes_fsync_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = io.os.fsync
    monkeypatch.setattr(io.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    io.atomic_write_text(tmp_path / "t.txt", "hello")
    io.atomic_torch_save(tmp_path / "m.pt", {"w": torch.ones(1)})
    assert len(synced) == 4  # file + folder, twice
    assert (tmp_path / "t.txt").read_text() == "hello"
    assert torch.load(tmp_path / "m.pt", weights_only=True)["w"].item() == 1.0


def test_report_leaves_out_a_run_with_an_unreadable_config(small_runs, tmp_path):
    import shutil

    from benchmark.reporting.runs import load_runs

    runs_dir = tmp_path / "runs"
    shutil.copytree(small_runs, runs_dir)
    victim = next(runs_dir.rglob("config.json"))
    victim.write_text("{not json")
    runs, skipped = load_runs([runs_dir])
    assert victim.parent not in [r.path for r in runs]
    assert (victim.parent, "unreadable or missing config.json (JSONDecodeError)") in skipped
