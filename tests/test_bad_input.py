"""Bad input gives one clear line (and keeps what was written): issue 'Reliability'."""
from __future__ import annotations

import json
import shutil

import pytest

from benchmark.errors import UserError
from benchmark.runner import RunRequest, run

FAST = ["epochs=1", "max_train_per_subset=16", "max_eval_per_subset=16"]


def _req(corpus, out, **kw):
    kw.setdefault("overrides", FAST)
    return RunRequest(stream="three_task", strategy="naive", profile="quick", out=str(out),
                      corpus=str(corpus), progress=False, **kw)


def test_nonfinite_loss_stops_and_keeps_partial_results(quick_corpus, tmp_path):
    # An absurd learning rate blows the weights up within the first experience.
    with pytest.raises(UserError, match="run stopped early .*loss became"):
        run(_req(quick_corpus, tmp_path, overrides=[*FAST, "lr=1e12", "grad_clip=1e30"]),
            log=lambda *a: None)
    m = json.loads((tmp_path / "three_task/naive/seed0/metrics.json").read_text())
    assert m["complete"] is False and "loss became" in m["incomplete_reason"]


def test_unfinished_run_without_checkpoint_needs_overwrite(quick_corpus, tmp_path):
    # what a crash leaves from a strategy that cannot resume (no checkpoint.pt is written)
    run_dir = tmp_path / "three_task/naive/seed0"
    run_dir.mkdir(parents=True)
    partial = json.dumps({"complete": False, "incomplete_reason": "running", "resumable": False})
    (run_dir / "metrics.json").write_text(partial)
    for resume in (False, True):
        with pytest.raises(UserError, match="no checkpoint to resume from .*pass --overwrite"):
            run(_req(quick_corpus, tmp_path, resume=resume), log=lambda *a: None)
    assert (run_dir / "metrics.json").read_text() == partial


def test_unwritable_results_folder(quick_corpus, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="cannot write to .*choose another --out"):
        run(_req(quick_corpus, blocker / "results"), log=lambda *a: None)


def test_missing_and_empty_splits(quick_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(quick_corpus, corpus)
    (corpus / "manifests/ic/test.jsonl").write_text("")
    with pytest.raises(UserError, match="split 'test' of 'ic' is empty"):
        run(_req(corpus, tmp_path / "out"), log=lambda *a: None)
    (corpus / "manifests/ic/test.jsonl").unlink()
    with pytest.raises(UserError, match="no manifest .*benchmark data build"):
        run(_req(corpus, tmp_path / "out2"), log=lambda *a: None)


def test_bad_manifest_row_names_file_and_line(quick_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(quick_corpus, corpus)
    path = corpus / "manifests/er/train.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"train.jsonl.*3"):
        run(_req(corpus, tmp_path / "out"), log=lambda *a: None)
