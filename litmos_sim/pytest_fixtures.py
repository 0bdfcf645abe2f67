"""pytest fixtures running a simulator in-process. Use from a conftest.py:

    from litmos_sim.pytest_fixtures import litmos_sim, make_litmos_sim  # noqa: F401
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from .config import SimConfig
from .simulator import Simulator, run_simulator

# A fixed "now" so tests are reproducible (mid-day, so "today" already has rows).
DEFAULT_TEST_NOW = datetime(2026, 1, 15, 10, 30, 0, tzinfo=timezone.utc)


@pytest.fixture
def make_litmos_sim():
    """Factory: make_litmos_sim(**SimConfig overrides) -> a started Simulator, stopped after the test."""
    started: list[Simulator] = []

    def make(**overrides) -> Simulator:
        overrides.setdefault("now", DEFAULT_TEST_NOW)
        overrides.setdefault("api_key", "test-key")
        ctx = run_simulator(SimConfig(**overrides))
        sim = ctx.__enter__()
        started.append((ctx, sim))
        return sim

    yield make
    for ctx, _ in started:
        ctx.__exit__(None, None, None)


@pytest.fixture
def litmos_sim(make_litmos_sim) -> Simulator:
    """A running simulator: seed 1, scale 200, key "test-key", clock frozen at DEFAULT_TEST_NOW."""
    return make_litmos_sim()
