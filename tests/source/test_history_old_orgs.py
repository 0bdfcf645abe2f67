"""Old orgs (900 days, 10 years) synced with the defaults: the whole org (both), then incremental nights
and the marts (900 days), on both warehouses; the walk's windows, its estimate and the marts checked
against the simulator's truth.
(Apart from test_history.py, and the Postgres ones in test_history_old_orgs_postgres.py, so that parallel
workers take them side by side: the test suite runs one file per worker.)"""
from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from litmos_sim import run_simulator
from pipelines.dbt_runner import build_marts
from tests.dbt.compliance_oracle import compute
from .test_history import (NOW, _assert_covers, _assert_empty_windows_cost_one_request, _cfg,
                           _diff, _load, _oldest_change, _windows, fast_retries)  # noqa: F401 - fixture

@pytest.fixture(autouse=True)
def long_batches(monkeypatch):
    # Years of mostly empty windows: fewer, longer batches (the per-batch dlt cost dominates in-process).
    monkeypatch.setenv("SOURCES__LITMOS__WINDOWS_PER_BATCH", "24")


TEN_YEARS = pytest.param(3650, marks=pytest.mark.soak, id="3650")  # minutes: CI runs it (LITMOS_TEST_ALL=1)


@pytest.mark.slow
@pytest.mark.parametrize("history_days", [900, TEN_YEARS])
def test_first_sync_with_defaults_holds_an_old_org_then_incremental_runs_stay_exact(tmp_path, history_days):
    with run_simulator(_cfg(history_days)) as sim:
        oldest = _oldest_change(sim)
        assert oldest < NOW - timedelta(days=history_days - 60), "the simulated org is not as old as asked"
        db = str(tmp_path / "w.duckdb")
        result = _load(sim, db, tmp_path)
        assert _diff(sim, "duckdb", db) == []
        asked = _windows(sim.requests())
        _assert_covers(asked, oldest, NOW)
        _assert_empty_windows_cost_one_request(sim, asked)
        # No window was asked twice: the walk back never re-reads what the forward part read.
        for table, windows in asked.items():
            assert all(starts.count(0) == 1 for starts in windows.values()), table
        # The announced estimate is within 15% of what the walk did.
        assert result.history_requests > 0
        assert abs(result.history_estimate - result.history_requests) <= 0.15 * result.history_requests
        assert result.history and result.history.startswith("history read back to ")
        if history_days > 900:  # the nights after it and the marts: the 900-day org's test, the same code
            return

        for _ in range(2):  # nights with activity: incremental, exact, and no history walk again
            sim.advance(timedelta(days=1), activity=True)
            sim.clear_requests()
            again = _load(sim, db, tmp_path)
            assert again.history_requests == 0
            assert _diff(sim, "duckdb", db) == []
            assert len(sim.requests()) < 200
        as_of = sim.now().date()
        built = build_marts("duckdb", db, vars={"as_of_date": as_of.isoformat()}, quiet=True)
        assert {n.status for n in built.nodes} <= {"success", "pass"}
        oracle = compute(sim, as_of)
        with duckdb.connect(db, read_only=True) as con:
            compliance = {(u, c): s for u, c, s in con.execute(
                "select user_id, course_id, compliance_status from litmos_marts.fct_compliance").fetchall()}
        assert compliance == oracle.compliance
