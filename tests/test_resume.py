"""Resume after SIGKILL gives the same final metrics as an uninterrupted run; bad resumes fail
with one clear line."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from benchmark.errors import UserError
from benchmark.runner import RunRequest, checkpoint, run
from strategies import list_strategies

FAST = ["epochs=1", "max_train_per_subset=32", "max_eval_per_subset=16"]


def _strip(m: dict) -> dict:
    m.pop("wall_seconds")
    assert len(m.pop("peak_rss_mib")) == len(m["experiences"])  # kept across the resume
    cpu = m.pop("cpu_seconds")
    assert all(len(cpu[part]) == len(m["experiences"]) for part in ("train", "eval"))
    for res in list(m["per_task"].values()) + list(m["baseline_metrics"].values()):
        res.pop("eval_seconds", None)
    for es in m["params"]["extra_state"]:
        for v in es.get("mask_search", {}).values():
            v.pop("seconds", None)
    return m


def _req(corpus, out, strategy, extra=(), **kw):
    return RunRequest(stream="three_task", strategy=strategy, profile="quick", out=str(out),
                      corpus=str(corpus), overrides=[*FAST, *extra], progress=False, **kw)


# ewc keys its penalty and importances on Avalanche's clock, which the checkpoint must restore;
# every resumable strategy: scripts/kill_resume.py. subnet also on a tiny random Whisper.
@pytest.mark.parametrize(("strategy", "family"), [("subnet", "conformer"), ("ewc", "conformer"),
                                                  ("subnet", "whisper")])
def test_sigkill_then_resume_matches_uninterrupted(strategy, family, quick_corpus,
                                                   tiny_whisper_dir, tmp_path):
    extra = [f"model=whisper:{tiny_whisper_dir}", "ctc_weight=0", "precision=bf16"] \
        if family == "whisper" else []
    ref_dir = run(_req(quick_corpus, tmp_path / "ref", strategy, extra), log=lambda *a: None)
    ref = _strip(json.loads((ref_dir / "metrics.json").read_text()))

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--stream", "three_task", "--strategy",
           strategy, "--profile", "quick", "--corpus", str(quick_corpus), "--out", str(out),
           "--no-progress", *FAST, *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = out / "three_task" / strategy / "seed0" / "checkpoint.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # after experience 1's checkpoint, mid-experience 2
    proc.wait()
    assert ckpt.exists()
    with pytest.raises(UserError, match="unfinished run; pass --resume"):
        run(_req(quick_corpus, out, strategy, extra), log=lambda *a: None)
    run_dir = run(_req(quick_corpus, out, strategy, extra, resume=True), log=lambda *a: None)
    got = _strip(json.loads((run_dir / "metrics.json").read_text()))
    assert got == ref
    assert not ckpt.exists()
    with pytest.raises(UserError, match="already holds a complete run"):
        run(_req(quick_corpus, out, strategy), log=lambda *a: None)


@pytest.mark.parametrize("strategy", list_strategies())
def test_every_strategy_resumes_to_the_uninterrupted_metrics(strategy, quick_corpus, tmp_path,
                                                             monkeypatch, assert_same_tree):
    """Every registered strategy resumes exactly (a strategy that can't resume fails here).
    One uninterrupted run; its run folder is copied as it stands right after each checkpoint
    (experiences 1 and 2 done: what a kill in experience 2 or 3 leaves), and each copy is
    resumed in this process, from nothing but that folder, to the same final metrics and the
    bit-identical final model and strategy state (the metrics of a barely trained model could
    hide a small difference). Resuming after a real SIGKILL, in a new process: the test above
    and scripts/kill_resume.py."""
    fast = ["max_train_per_subset=16", "max_eval_per_subset=8"]  # weights compared too
    real_save, copies = checkpoint.atomic_torch_save, {}

    def save_and_copy(path, obj):
        real_save(path, obj)
        if path.name == "checkpoint.pt" and obj["completed"] < 3:
            dst = tmp_path / f"after{obj['completed']}" / "three_task" / strategy / "seed0"
            shutil.copytree(path.parent, dst, ignore=shutil.ignore_patterns(".lock"))
            copies[obj["completed"]] = dst.parents[2]

    monkeypatch.setattr(checkpoint, "atomic_torch_save", save_and_copy)
    ref_dir = run(_req(quick_corpus, tmp_path / "ref", strategy, fast), log=lambda *a: None)
    ref = _strip(json.loads((ref_dir / "metrics.json").read_text()))
    ref_model = torch.load(ref_dir / "model.pt", weights_only=True)
    assert ref["resumable"] is True, f"strategy '{strategy}' does not declare resumable=True"
    assert sorted(copies) == [1, 2]
    monkeypatch.setattr(checkpoint, "atomic_torch_save", real_save)
    for completed, out in copies.items():
        said = []
        run_dir = run(_req(quick_corpus, out, strategy, fast, resume=True), log=said.append)
        assert said[0].startswith(f"resuming {run_dir} after experience {completed}/3")
        assert _strip(json.loads((run_dir / "metrics.json").read_text())) == ref, completed
        assert_same_tree(torch.load(run_dir / "model.pt", weights_only=True), ref_model)


def test_resume_refuses_other_config_and_unsafe_pickles(quick_corpus, tmp_path):
    out = tmp_path / "r"
    run_dir = out / "three_task" / "naive" / "seed0"
    run_dir.mkdir(parents=True)
    torch.save({"fingerprint": "other"}, run_dir / "checkpoint.pt")
    with pytest.raises(UserError, match="another config or another version of the suite"):
        run(_req(quick_corpus, out, "naive", resume=True), log=lambda *a: None)

    class Evil:  # anything needing arbitrary unpickling must be refused
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, run_dir / "checkpoint.pt")
    with pytest.raises(UserError, match="unsafe unpickling"):
        run(_req(quick_corpus, out, "naive", resume=True), log=lambda *a: None)


def test_ctrl_c_stops_cleanly_and_resumes(quick_corpus, tmp_path):
    """SIGINT (Ctrl-C) after the first experience: one line on stderr saying how to continue,
    exit 130, partial results marked incomplete; --resume then ends where an uninterrupted run
    does."""
    ref_dir = run(_req(quick_corpus, tmp_path / "ref", "naive"), log=lambda *a: None)
    ref = _strip(json.loads((ref_dir / "metrics.json").read_text()))

    out = tmp_path / "stopped"
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--stream", "three_task", "--strategy",
           "naive", "--profile", "quick", "--corpus", str(quick_corpus), "--out", str(out),
           "--no-progress", *FAST]
    # A test runner started in the background (`cmd &`, nohup) ignores SIGINT, and the child
    # would inherit that: Python installs its Ctrl-C handler only over the default disposition.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509 (only resets a signal)
    run_dir = out / "three_task" / "naive" / "seed0"
    deadline = time.time() + 300
    while not (run_dir / "checkpoint.pt").exists() and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "error: run interrupted; continue it with the same command plus --resume"]
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["complete"] is False and m["incomplete_reason"] == "interrupted by the user"
    got = _strip(json.loads((run(_req(quick_corpus, out, "naive", resume=True),
                                 log=lambda *a: None) / "metrics.json").read_text()))
    assert got == ref

    # killed after metrics.json said complete, before the report: --resume finishes the report
    # and trains nothing (metrics.json untouched); without --resume the folder is refused
    shutil.rmtree(run_dir / "report")
    before = (run_dir / "metrics.json").read_bytes()
    said = []
    assert run(_req(quick_corpus, out, "naive", resume=True), log=said.append) == run_dir
    assert (run_dir / "report" / "report.md").exists()
    assert (run_dir / "metrics.json").read_bytes() == before
    assert said == [f"{run_dir} already holds a complete run; nothing to resume"]
