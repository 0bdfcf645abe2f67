"""pytest fixtures running a simulator (or a fleet of orgs) in-process. Use from a conftest.py:

    from litmos_sim.pytest_fixtures import litmos_sim, make_litmos_sim  # noqa: F401
    from litmos_sim.pytest_fixtures import litmos_fleet, make_litmos_fleet  # noqa: F401
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from typing import Sequence

from .config import SimConfig
from .fleet import Fleet, fleet_configs, run_fleet
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


@pytest.fixture
def make_litmos_fleet():
    """Factory: one server hosting several orgs, stopped after the test.

    make_litmos_fleet(3, scale=50) -> orgs org01..org03, keys litmos-sim-key-org01.., seeds 1, 2, 3
    (seed=S starts them at S), the SimConfig overrides applied to each, clock frozen at
    DEFAULT_TEST_NOW unless `now` is given. make_litmos_fleet([SimConfig, ...], names=[...]) serves
    exactly those configs (names default org01..).
    """
    started: list = []

    def make(orgs: int | Sequence[SimConfig] = 3, names: Sequence[str] | None = None, **overrides) -> Fleet:
        if isinstance(orgs, int):
            if "api_key" in overrides:
                raise TypeError("make_litmos_fleet(N) derives each org's api_key from its name; "
                                "pass SimConfigs to choose keys")
            overrides.setdefault("now", DEFAULT_TEST_NOW)
            names, configs = fleet_configs(orgs, SimConfig(**overrides), names)
        else:
            configs = [cfg.replace(**overrides) if overrides else cfg for cfg in orgs]
        ctx = run_fleet(configs, names)
        fleet = ctx.__enter__()
        started.append(ctx)
        return fleet

    yield make
    for ctx in started:
        ctx.__exit__(None, None, None)


@pytest.fixture
def litmos_fleet(make_litmos_fleet) -> Fleet:
    """A running fleet: org01..org03 (seeds 1-3, scale 200, keys litmos-sim-key-orgNN), frozen at DEFAULT_TEST_NOW."""
    return make_litmos_fleet(3)
