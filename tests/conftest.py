"""Shared fixtures: the quick SynthSLU-7 corpus, built once per test session."""
from __future__ import annotations

import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(int(os.environ.get("TEST_THREADS", "2")))


@pytest.fixture(scope="session")
def quick_corpus(tmp_path_factory):
    from benchmark.data.build import build_corpus

    return build_corpus("quick", out=tmp_path_factory.mktemp("corpus") / "quick", seed=0,
                        log=lambda *a: None)
