"""scripts/forgetting_by_component.py and scripts/weight_moves.py on checkpoints of a real (tiny)
subnet run: with no change applied, and with all of it, the component study reproduces the run's
own scores before and after the experience, so its set-up (weights, masks, test sets) is the
run's."""
import json

import pytest
import torch
from script_helpers import load_script as _script
from script_helpers import run_keeping_checkpoints

from benchmark import masks as M
from benchmark.runner import RunRequest


@pytest.fixture(scope="module")
def subnet_checkpoints(quick_corpus, tiny_whisper_dir, tmp_path_factory):
    """(run folder, checkpoint after experience 1, after experience 2) of three_task subnet on
    a tiny random Whisper (component names are Whisper's)."""
    out = tmp_path_factory.mktemp("forgetting_scripts")
    run_dir, copies = run_keeping_checkpoints(RunRequest(
        stream="three_task", strategy="subnet", profile="quick", out=str(out / "runs"),
        corpus=str(quick_corpus), progress=False,
        overrides=["epochs=1", "max_train_per_subset=16", "max_eval_per_subset=8",
                   f"model=whisper:{tiny_whisper_dir}", "ctc_weight=0", "precision=fp32"]),
        out / "kept")
    return run_dir, copies[1], copies[2]


def test_no_change_and_all_of_it_reproduce_the_runs_scores(subnet_checkpoints):
    run_dir, after1, after2 = subnet_checkpoints
    rows = dict(_script("forgetting_by_component").scores_by_component(
        run_dir, after1, after2, ["er", "ic"]))
    assert set(rows) == {label for label, _ in _script("forgetting_by_component").PARTS}
    score_rows = json.loads((run_dir / "metrics.json").read_text())["score"]["R"]
    er, ic = 0, 1  # three_task's order: er -> ic -> asr
    assert rows["none"]["er"][0] == pytest.approx(score_rows[0][er])
    assert rows["all"]["er"][0] == pytest.approx(score_rows[1][er])
    assert rows["all"]["ic"][0] == pytest.approx(score_rows[1][ic])
    for cells in rows.values():
        for subset in ("er", "ic"):  # classification: the share of outputs with its own prefix
            assert sum(cells[subset][1].values()) == pytest.approx(1.0)


def test_weight_moves_measures_the_experiences_change(subnet_checkpoints):
    _, after1, after2 = subnet_checkpoints
    moves = _script("weight_moves")
    old, masks1, rows1, tasks1 = moves.load(after1)
    new, masks2, rows2, tasks2 = moves.load(after2)
    assert (tasks1, tasks2) == (["er"], ["er", "ic"])
    assert (len(rows1), len(rows2)) == (1, 2)
    names = [n for n in masks2.names if n in new]
    assert moves.relative_change(old, old, names) == 0.0
    # update=subnet: IC's experience trains IC's mask, which shares weights with ER's
    shared = M.mask_count(M.mask_and(masks2.get("er"), masks2.get("ic")))
    assert shared > 0
    assert moves.relative_change(old, new, names, masks2.get("er")) > 0.0
    # outside every mask nothing trains (those weights are zero in every view)
    outside = M.mask_not(masks2.union())
    assert moves.relative_change(old, new, names, outside) == pytest.approx(0.0, abs=1e-12) \
        or M.mask_count(outside) == 0
    assert torch.equal(masks1.get("er")[names[0]], masks2.get("er")[names[0]])
