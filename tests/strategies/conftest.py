"""Fixtures of the strategy mechanism tests: small in-memory runs (see cl_harness.py)."""
from __future__ import annotations

import pytest
from cl_harness import RunRecord, run_strategy


class Runs:
    """Default-config runs of a strategy, made once per session and shared between checks
    (naive and joint are the references other checks compare against)."""

    def __init__(self):
        self._cache: dict[str, RunRecord] = {}

    def get(self, name: str) -> RunRecord:
        if name not in self._cache:
            self._cache[name] = run_strategy(name)
        return self._cache[name]


@pytest.fixture(scope="session")
def runs() -> Runs:
    return Runs()
