"""The `paper` profile (a local Whisper small/medium on CUDA with bf16) runs on CPU with a small
random Whisper directory in Hugging Face format, and says what it needs when no model is given."""
from __future__ import annotations

import json

import pytest

from benchmark.errors import UserError
from benchmark.runner import RunRequest, run


def test_paper_profile_runs_a_local_whisper_directory(quick_corpus, tiny_whisper_dir, tmp_path):
    req = RunRequest(stream="three_task", strategy="subnet", profile="paper", out=str(tmp_path),
                     corpus=str(quick_corpus), progress=False,
                     overrides=[f"model=whisper:{tiny_whisper_dir}", "epochs=1", "batch_size=8",
                                "warmup_steps=2", "max_train_per_subset=24",
                                "max_eval_per_subset=8"])
    run_dir = run(req, log=lambda *a: None)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["complete"] and len(m["score"]["R"]) == 3
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["train"]["precision"] == "bf16" and cfg["train"]["model"].startswith("whisper:")
    env = json.loads((run_dir / "environment.json").read_text())
    assert env["packages"]["transformers"] == "5.24.0"


def test_paper_profile_asks_for_a_model_directory(tmp_path):
    req = RunRequest(stream="three_task", strategy="naive", profile="paper", out=str(tmp_path))
    with pytest.raises(UserError, match="model=whisper:/path/to/whisper-small") as err:
        run(req, log=lambda *a: None)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("override", "message"), [
    ("model=whisper-huge", "unknown model 'whisper-huge'"),
    ("model=whisper:/nonexistent/dir", "no Whisper model at /nonexistent/dir"),
    ("ctc_weight=0.3", "has no CTC head; set ctc_weight=0")])
def test_bad_model_choices_are_one_line_errors(override, message, quick_corpus, tmp_path):
    req = RunRequest(stream="three_task", strategy="naive", profile="default", out=str(tmp_path),
                     corpus=str(quick_corpus), overrides=[override], progress=False)
    with pytest.raises(UserError, match=message):
        run(req, log=lambda *a: None)
