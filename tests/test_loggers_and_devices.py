"""`--logger tensorboard,csv,wandb` on a real run (W&B offline), fp16 autocast with a gradient
scaler (run on CPU here; what a GPU without bf16 gets), fp32 on a CPU without native bf16 (also
after a resume), and the CUDA path (skipped without CUDA)."""
from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from benchmark.errors import UserError
from benchmark.runner import RunRequest, run
from benchmark.runner.loggers import parse_loggers
from benchmark.training.template import SLUTemplate

FAST = ["epochs=1", "max_train_per_subset=32", "max_eval_per_subset=16"]


def _req(corpus, out, strategy="naive", **kw) -> RunRequest:
    return RunRequest(stream="three_task", strategy=strategy, profile="quick",
                      corpus=str(corpus), out=str(out), progress=False,
                      **{"overrides": FAST, **kw})


def test_loggers_carry_loss_lr_and_every_r_cell(quick_corpus, tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = run(_req(quick_corpus, tmp_path, loggers=["tensorboard", "csv", "wandb"],
                       overrides=[*FAST, "max_train_per_subset=64"]),  # 4 steps: lr decays
                  log=lambda *a: None)
    m = json.loads((run_dir / "metrics.json").read_text())
    subsets, R = m["eval_subsets"], m["score"]["R"]

    rows = list(csv.DictReader((run_dir / "scalars.csv").read_text().splitlines()))
    by_name: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        by_name.setdefault(r["name"], []).append((int(r["step"]), float(r["value"])))
    steps = [s for s, _ in by_name["train/loss"]]
    assert steps == list(range(len(steps))) and len(steps) == 3 * 4  # 64 utts / 16, 3 exps
    assert all(v > 0 for _, v in by_name["train/loss"])
    lrs = [v for _, v in by_name["train/lr"]]
    assert max(lrs) > min(lrs) > 0  # warm-up and decay per experience
    for j, sub in enumerate(subsets):
        cells = by_name[f"R/{sub}"]
        assert [s for s, _ in cells] == list(range(len(R) + 1))  # row 0: the untrained model
        assert [v for _, v in cells[1:]] == pytest.approx([row[j] for row in R], abs=1e-4)
    assert by_name["summary/acc"] == [(len(R), pytest.approx(m["score"]["summary"]["acc"],
                                                             abs=1e-4))]

    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tb = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    for j, sub in enumerate(subsets):
        assert [v for _, v in tb[f"R/{sub}"][1:]] == pytest.approx([row[j] for row in R],
                                                                   abs=1e-4)
    assert len(tb["train/loss"]) == len(steps)

    [offline] = list((run_dir / "wandb").glob("offline-run-*"))
    record = next(offline.glob("run-*.wandb")).read_bytes()
    for key in ("train/loss", "train/lr", *(f"R/{sub}" for sub in subsets), "summary/acc"):
        assert key.encode() in record, key


def test_logger_names_are_checked():
    assert parse_loggers("csv, tensorboard") == ["csv", "tensorboard"]
    assert parse_loggers(None) == []
    with pytest.raises(UserError, match="unknown"):
        parse_loggers("csv,mlflow")


def test_fp16_trains_through_a_gradient_scaler(quick_corpus, tmp_path, monkeypatch):
    scales = []
    real_step = SLUTemplate.optimizer_step

    def step(self):
        real_step(self)
        scales.append(self.scaler.get_scale())

    monkeypatch.setattr(SLUTemplate, "optimizer_step", step)
    run_dir = run(_req(quick_corpus, tmp_path, overrides=[*FAST, "precision=fp16"]),
                  log=lambda *a: None)
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["train"]["precision"] == "fp16"
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["complete"] and all(math.isfinite(v) for row in m["score"]["R"] for v in row)
    assert len(scales) == 6  # every step went through the scaler
    assert json.loads((run_dir / "environment.json").read_text())["precision_used"] == "fp16"
    assert all(n > 0 for n in m["params"]["updated_per_experience"])  # and the weights moved


@pytest.mark.parametrize("native", [True, False])
def test_cpu_precision_follows_native_bf16(monkeypatch, native):
    from benchmark.config import TrainConfig
    from benchmark.runner import setup

    monkeypatch.setattr(setup, "cpu_has_fast_bf16", lambda: native)
    lines = []
    for asked in ("bf16", "fp32"):
        used = setup.configure_device(TrainConfig(precision=asked), "cpu", lines.append)
        assert used.precision == ("fp32" if asked == "fp32" or not native else "bf16")
    assert len(lines) == (0 if native else 1) and all("no native bf16" in x for x in lines)


def test_bf16_on_a_cpu_without_native_bf16_runs_in_fp32(quick_corpus, tmp_path, monkeypatch):
    """Emulated bf16 autocast is several times slower than fp32 on AVX2-only CPUs: such a CPU
    trains and evaluates in fp32; config.json keeps the request, environment.json the used."""
    from benchmark.runner import setup
    from benchmark.training import template

    monkeypatch.setattr(setup, "cpu_has_fast_bf16", lambda: False)
    entered = []
    real_autocast = template.autocast
    monkeypatch.setattr(template, "autocast",
                        lambda device, precision: entered.append(precision)
                        or real_autocast(device, precision))
    run_dir = run(_req(quick_corpus, tmp_path, overrides=[*FAST, "precision=bf16"]),
                  log=lambda *a: None)
    assert json.loads((run_dir / "config.json").read_text())["train"]["precision"] == "bf16"
    assert json.loads((run_dir / "environment.json").read_text())["precision_used"] == "fp32"
    assert entered and set(entered) == {"fp32"}  # training and evaluation both
    assert json.loads((run_dir / "metrics.json").read_text())["complete"]


def test_a_run_resumed_without_native_bf16_records_both_sessions(quick_corpus, tmp_path,
                                                                   monkeypatch):
    """A bf16 run stopped after its first experience and resumed on a CPU without native bf16
    trains on in fp32: environment.json keeps both sessions, and reports refuse the run unless
    mixing is allowed."""
    from benchmark.errors import Interrupted
    from benchmark.reporting.runs import load_runs, mixing
    from benchmark.runner import setup

    real_train, calls = SLUTemplate.train, []

    def stop_at_the_second_experience(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(self, *args, **kwargs)

    req = _req(quick_corpus, tmp_path, overrides=[*FAST, "precision=bf16"])
    monkeypatch.setattr(setup, "cpu_has_fast_bf16", lambda: True)
    monkeypatch.setattr(SLUTemplate, "train", stop_at_the_second_experience)
    with pytest.raises(Interrupted, match="--resume"):
        run(req, log=lambda *a: None)
    monkeypatch.setattr(setup, "cpu_has_fast_bf16", lambda: False)
    monkeypatch.setattr(SLUTemplate, "train", real_train)
    run_dir = run(_req(quick_corpus, tmp_path, overrides=req.overrides, resume=True),
                  log=lambda *a: None)
    env = json.loads((run_dir / "environment.json").read_text())
    assert [(s["from_experience"], s["precision_used"]) for s in env["sessions"]] == [
        (0, "bf16"), (1, "fp32")]
    assert env["precision_used"] == "fp32"
    runs, _ = load_runs([run_dir])
    assert runs[0].precisions_used == {"bf16", "fp32"}
    assert any(line.startswith("runs resumed on another processor or precision")
               for line in mixing(runs))


@pytest.mark.parametrize("strategy", ["si", "gem"])
def test_fp16_with_strategies_that_read_gradients(quick_corpus, tmp_path, strategy):
    """SI multiplies gradients by the weight change and GEM projects them: under fp16 they
    must see unscaled, finite gradients (a skipped step's are zeroed)."""
    run_dir = run(_req(quick_corpus, tmp_path, strategy,
                       overrides=[*FAST, "precision=fp16"]), log=lambda *a: None)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["complete"] and all(math.isfinite(v) for row in m["score"]["R"] for v in row)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_run_uses_tf32_half_precision_and_pinned_loaders(quick_corpus, tmp_path):
    lines = []
    run_dir = run(_req(quick_corpus, tmp_path, device="cuda", overrides=[*FAST,
                                                                          "precision=bf16"]),
                  log=lines.append)
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert json.loads((run_dir / "config.json").read_text())["train"]["precision"] == "bf16"
    env = json.loads((run_dir / "environment.json").read_text())
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    assert env["precision_used"] == ("bf16" if native else "fp16") and env["tf32"] is True
    assert json.loads((run_dir / "metrics.json").read_text())["complete"]


def test_resume_continues_the_logs_and_overwrite_replaces_them(quick_corpus, tmp_path,
                                                               monkeypatch):
    """A copy of the run folder right after experience 1's checkpoint, plus lines that the
    killed process logged after it, resumes to exactly the uninterrupted run's scalars.csv;
    --overwrite starts the logs afresh."""
    import shutil

    from benchmark.runner import checkpoint

    real_save, copies = checkpoint.atomic_torch_save, {}

    def save_and_copy(path, obj):
        real_save(path, obj)
        if path.name == "checkpoint.pt" and obj["completed"] == 1:
            dst = tmp_path / "copy" / "three_task" / "naive" / "seed0"
            shutil.copytree(path.parent, dst, ignore=shutil.ignore_patterns(".lock"))
            copies[1] = dst

    monkeypatch.setattr(checkpoint, "atomic_torch_save", save_and_copy)
    ref_dir = run(_req(quick_corpus, tmp_path / "ref", loggers=["csv", "tensorboard"]),
                  log=lambda *a: None)
    monkeypatch.setattr(checkpoint, "atomic_torch_save", real_save)
    reference = (ref_dir / "scalars.csv").read_text()
    with open(copies[1] / "scalars.csv", "a") as f:  # what the killed process logged later
        f.write("train/loss,2,9.99\ntrain/lr,2,0.001\nR/er,2,12.5\n")
    run(_req(quick_corpus, tmp_path / "copy", loggers=["csv", "tensorboard"], resume=True),
        log=lambda *a: None)
    assert (copies[1] / "scalars.csv").read_text() == reference
    run(_req(quick_corpus, tmp_path / "ref", loggers=["csv"], overwrite=True),
        log=lambda *a: None)
    assert (ref_dir / "scalars.csv").read_text() == reference
    assert not (ref_dir / "tensorboard").exists()  # the earlier run's logs went with it
