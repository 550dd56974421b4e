"""Builds the quick SynthSLU-7 corpus once per test session (about 10-15 s on 2 cores)."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.data.build import build_corpus


@pytest.fixture(scope="session")
def quick_corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthslu7") / "quick-seed0"
    return build_corpus("quick", out=root, seed=0, jobs=2, log=lambda _msg: None)
