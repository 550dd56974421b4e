"""scripts/output_forms.py re-evaluates a finished run exactly as the run's last evaluation did."""
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "output_forms.py"


def _script():
    spec = importlib.util.spec_from_file_location("output_forms_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("strategy", ["naive", "subnet"])
def test_output_forms_reproduce_the_runs_final_accuracy(small_runs, strategy):
    rows = _script().forms_of_run(small_runs / "three_task" / strategy / "seed0")
    assert [r["subset"] for r in rows] == ["er", "ic"]  # the classification tasks of three_task
    for r in rows:
        # the same model, test set and mask as the run's last evaluation: the same accuracy
        assert r["accuracy"] == pytest.approx(r["run_accuracy"])
        assert sum(r["forms"].values()) == pytest.approx(1.0)
        assert sum(r["bodies"].values()) == pytest.approx(1.0)
        assert r["body_accuracy"] >= r["accuracy"]
