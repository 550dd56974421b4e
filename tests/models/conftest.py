"""Fixtures: the tokenizer and a freshly initialised tiny model."""
from __future__ import annotations

import pytest
import torch

from benchmark.models import SLUModel, build_model
from benchmark.text import Tokenizer


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture
def tiny(tokenizer: Tokenizer) -> SLUModel:
    torch.manual_seed(0)
    return build_model("tiny", len(tokenizer))
