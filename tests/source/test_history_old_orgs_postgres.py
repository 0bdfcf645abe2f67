"""An old org (900 days) synced with the defaults into Postgres: the whole org, then an incremental night;
the raw tables and the marts checked against the simulator's truth. Ten years are checked on DuckDB
(test_history_old_orgs.py, its twin, apart so that parallel workers take them side by side): the walk is
the same on both warehouses, and ten years on Postgres cost CI almost four minutes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from litmos_sim import run_simulator
from pipelines.dbt_runner import build_marts
from tests.dbt.compliance_oracle import compute
from .test_history import _cfg, _compliance, _diff, _load, fast_retries  # noqa: F401 - fixture
from .test_history_old_orgs import long_batches  # noqa: F401 - fixture


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("history_days", [900])
def test_first_sync_with_defaults_on_postgres_holds_an_old_org(tmp_path, pg_database, history_days):
    with run_simulator(_cfg(history_days, seed=22)) as sim:
        _load(sim, pg_database, tmp_path, destination="postgres")
        assert _diff(sim, "postgres", pg_database) == []
        sim.advance(timedelta(days=1), activity=True)
        _load(sim, pg_database, tmp_path, destination="postgres")
        assert _diff(sim, "postgres", pg_database) == []
        as_of = sim.now().date()
        built = build_marts("postgres", pg_database, vars={"as_of_date": as_of.isoformat()}, quiet=True)
        assert {n.status for n in built.nodes} <= {"success", "pass"}
        assert _compliance("postgres", pg_database) == compute(sim, as_of).compliance
