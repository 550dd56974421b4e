"""scripts/label_forms.py re-evaluates a finished run exactly as the run's last evaluation did."""
import pytest
from script_helpers import load_script

from benchmark.tasks import TASKS


def _script():
    return load_script("label_forms")


@pytest.mark.parametrize("strategy", ["naive", "subnet"])
def test_label_forms_reproduce_the_runs_final_accuracy(small_runs, strategy):
    rows = _script().forms_of_run(small_runs / "three_task" / strategy / "seed0")
    assert [r["subset"] for r in rows] == ["er", "ic"]  # the classification tasks of three_task
    for r in rows:
        # the same model, test set and mask as the run's last evaluation: the same accuracy
        assert r["accuracy"] == pytest.approx(r["run_accuracy"])
        # every right answer has the task's own prefix and one of its labels as the body
        assert r["prefixes"].get(r["subset"], 0.0) >= r["accuracy"] - 1e-9
        assert r["bodies"].get(r["subset"], 0.0) >= r["accuracy"] - 1e-9
        assert set(r["prefixes"]) | set(r["bodies"]) <= set(TASKS) | {"other"}
