"""`benchmark sweep`: 2 strategies x 1 seed with 2 workers; a second sweep skips finished runs
and runs an incomplete one again with --overwrite."""
from __future__ import annotations

import dataclasses
import json

import pytest

from benchmark.errors import UserError
from benchmark.runner.sweep import SweepRequest, overrides_for, sweep

FAST = ["epochs=1", "max_train_per_subset=32", "max_eval_per_subset=16"]


def test_sweep_runs_skips_and_reruns(quick_corpus, tmp_path):
    req = SweepRequest(stream="three_task", strategies=["naive", "subnet"], seeds=[0], jobs=2,
                       profile="quick", out=str(tmp_path), corpus=str(quick_corpus),
                       overrides=FAST)
    outcomes, report_dir = sweep(req, log=lambda *a: None)
    assert [(o.strategy, o.status) for o in outcomes] == [("naive", "done"), ("subnet", "done")]
    runs = {s: tmp_path / "three_task" / s / "seed0" / "metrics.json" for s in ("naive", "subnet")}
    for path in runs.values():
        m = json.loads(path.read_text())
        assert m["complete"] is True
    cfg = json.loads((runs["naive"].parent / "config.json").read_text())
    assert cfg["train"]["threads"] == 1 and cfg["train"]["epochs"] == 1
    assert report_dir == tmp_path / "report" / "three_task"
    assert (report_dir / "summary.md").exists() and (report_dir / "plots" / "R_subnet.png").exists()
    log = (tmp_path / "sweep-three_task.log").read_text()
    assert "start naive seed0" in log and "done subnet seed0" in log
    assert (tmp_path / "sweep_logs" / "three_task" / "naive_seed0.out").exists()

    # second sweep: subnet is complete (skipped, untouched); naive looks interrupted (rerun)
    mtime = runs["subnet"].stat().st_mtime_ns
    m = json.loads(runs["naive"].read_text())
    runs["naive"].write_text(json.dumps(dict(m, complete=False,
                                             incomplete_reason="interrupted by the user")))
    outcomes, _ = sweep(req, log=lambda *a: None)
    assert [(o.strategy, o.status) for o in outcomes] == [("naive", "done"),
                                                          ("subnet", "skipped")]
    assert runs["subnet"].stat().st_mtime_ns == mtime
    assert json.loads(runs["naive"].read_text())["complete"] is True
    log = (tmp_path / "sweep-three_task.log").read_text()
    assert "skip subnet seed0: complete" in log
    assert "rerun (incomplete: interrupted by the user) with --overwrite naive seed0" in log
    assert "--overwrite" in log.split("rerun (incomplete")[1].splitlines()[0]

    # third sweep with another setting: the finished runs are of another experiment, so each
    # cell fails naming the key, and nothing on disk is touched
    mtimes = {s: p.stat().st_mtime_ns for s, p in runs.items()}
    other = dataclasses.replace(req, overrides=[*FAST, "sparsity=0.5"])
    outcomes, _ = sweep(other, log=lambda *a: None)
    assert [(o.strategy, o.status) for o in outcomes] == [("naive", "skipped"),
                                                          ("subnet", "failed")]
    assert "sparsity: 0.36 != 0.5" in outcomes[1].detail
    assert {s: p.stat().st_mtime_ns for s, p in runs.items()} == mtimes
    # ... and so are runs at another thread count (it changes results)
    outcomes, _ = sweep(dataclasses.replace(req, overrides=[*FAST, "threads=2"]),
                        log=lambda *a: None)
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert "threads: 1 != 2" in outcomes[0].detail
    assert {s: p.stat().st_mtime_ns for s, p in runs.items()} == mtimes


def test_strategy_options_go_only_to_their_strategy():
    assert overrides_for("naive", ["epochs=1", "sparsity=0.5"]) == ["epochs=1"]
    assert overrides_for("subnet", ["epochs=1", "sparsity=0.5"]) == ["epochs=1", "sparsity=0.5"]


@pytest.mark.parametrize("kw, msg", [
    ({"strategies": ["naive", "nope"]}, "unknown strategy"),
    ({"overrides": ["sparsity=0.5"]}, "applies to none"),
    ({"overrides": ["epochs=x"]}, "not a valid int"),
    ({"jobs": 0}, "--jobs"),
])
def test_bad_requests_fail_before_any_run(tmp_path, kw, msg):
    req = SweepRequest(**{"stream": "three_task", "strategies": ["naive"], "seeds": [0],
                          "profile": "quick", "out": str(tmp_path), **kw})
    with pytest.raises(UserError, match=msg):
        sweep(req, log=lambda *a: None)
    assert not (tmp_path / "three_task").exists()


def test_incomplete_runs_resume_only_with_a_checkpoint_and_a_resumable_strategy(tmp_path):
    from benchmark.runner.sweep import can_resume

    (tmp_path / "metrics.json").write_text(json.dumps({"complete": False, "resumable": True}))
    assert not can_resume(tmp_path)  # no checkpoint: nothing to continue from
    (tmp_path / "checkpoint.pt").write_bytes(b"x")
    assert can_resume(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"complete": False, "resumable": False}))
    assert not can_resume(tmp_path)  # e.g. packnet: its state is not checkpointed
    (tmp_path / "metrics.json").write_text("{broken")
    assert not can_resume(tmp_path)
