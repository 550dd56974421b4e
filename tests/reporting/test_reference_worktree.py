"""`scripts/reference_worktree.sh collect` brings back finished runs only: a run stopped early
(model.pt and complete=false), one still holding its lock, or one still running stays out; an
unfinished copy collected earlier is replaced once its run finishes; no weights come back. The
worktree makes a set in results/next_reference/ (the committed set's commit held the bf16 set in
results/); collect puts the committed set's runs in results/, a next set's in the same folder."""
from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


WORK_SET = Path("results/next_reference")  # where the worktree makes either set


def _run(root: Path, name: str, complete: bool, files=("model.pt", "checkpoint.pt"),
         folder: Path = WORK_SET) -> Path:
    run = root / folder / "seven_task" / "naive" / name
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"complete": complete}))
    for f in files:
        (run / f).write_bytes(b"weights")
    return run


@pytest.mark.parametrize("set_name, dest", [("current", Path("results")),
                                             ("next", Path("results/next_reference"))])
def test_collect_brings_back_finished_runs_only(tmp_path, set_name, dest):
    main, work = tmp_path / "main", tmp_path / "work"
    (main / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "reference_worktree.sh", main / "scripts")
    (main / dest).mkdir(parents=True)
    (main / dest / "README.md").write_text("The reference commit is `df89bee`.\n")
    venv = Path(sys.executable).parent.parent  # the suite's venv: collect runs its python

    _run(work, "seed0", complete=True, files=("model.pt",))   # finished
    _run(work, "seed1", complete=False)                        # stopped early: model.pt too
    _run(work, "seed2", complete=True, files=("model.pt", "checkpoint.pt", ".lock"))
    _run(work, "seed3", complete=True)                         # finished since the last collect
    _run(main, "seed3", complete=False, files=(), folder=dest)  # its unfinished copy
    running = work / "results/next_reference/seven_task/naive/seed4"
    running.mkdir(parents=True)
    (running / "checkpoint.pt").write_bytes(b"weights")        # no metrics.json yet

    with open(work / "results/next_reference/seven_task/naive/seed2/.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)                       # seed2 still writes its files
        out = subprocess.run(["bash", str(main / "scripts" / "reference_worktree.sh"),
                              "collect", str(work), set_name], check=False, capture_output=True, text=True,
                             env={"VENV": str(venv), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    out = out.stdout
    got = main / dest / "seven_task" / "naive"
    assert sorted(p.name for p in got.iterdir()) == ["seed0", "seed3"], out
    assert "2 new run(s) collected" in out
    for seed in ("seed0", "seed3"):
        assert json.loads((got / seed / "metrics.json").read_text())["complete"] is True
        assert sorted(p.name for p in (got / seed).iterdir()) == ["metrics.json"]
