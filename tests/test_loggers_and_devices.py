"""`--logger tensorboard,csv,wandb` on a real run (W&B offline), fp16 autocast with a gradient
scaler (run on CPU here; what a GPU without bf16 gets), and the CUDA path (skipped without
CUDA)."""
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
    assert len(scales) == 6 and all(s > 0 for s in scales)  # every step went through it
    assert m["params"]["updated_per_experience"][0] > 0  # and the weights moved


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_run_uses_tf32_half_precision_and_pinned_loaders(quick_corpus, tmp_path):
    lines = []
    run_dir = run(_req(quick_corpus, tmp_path, device="cuda", overrides=[*FAST,
                                                                          "precision=bf16"]),
                  log=lines.append)
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    cfg = json.loads((run_dir / "config.json").read_text())
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    assert cfg["train"]["precision"] == expected
    assert json.loads((run_dir / "metrics.json").read_text())["complete"]
