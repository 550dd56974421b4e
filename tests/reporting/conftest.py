"""Small real runs for the reporting tests: naive and subnet x seeds 0, 1 on three_task
(quick profile, one epoch, 32 utterances per subset), made once per session."""
from __future__ import annotations

import pytest

from benchmark.runner import RunRequest, run

FAST = ["epochs=1", "max_train_per_subset=32", "max_eval_per_subset=16"]


@pytest.fixture(scope="session")
def small_runs(quick_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("reporting_runs")
    for strategy in ("naive", "subnet"):
        for seed in (0, 1):
            run(RunRequest(stream="three_task", strategy=strategy, seed=seed, profile="quick",
                           out=str(out), corpus=str(quick_corpus), overrides=FAST,
                           progress=False), log=lambda *a: None)
    return out
