"""Fixtures shared by the tests that read the committed results."""
from __future__ import annotations

from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "results"


@pytest.fixture
def bf16_set() -> Path:
    """The bf16 set (aebfc7e) that the fp32 set (df89bee) replaced. Ablations compare with it,
    and its runs recorded the masked parameter counts that the report now recomputes."""
    return RESULTS / "ablation_bf16_batch16"
