"""Marts stay exact after later incremental runs: the simulated org changes (new results, removals,
expiries), the pipeline merges the changes, dbt rebuilds, and the marts equal the new ground truth."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from .compliance_oracle import compute
from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import build_marts
from pipelines.sync import sync

START = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)


@pytest.fixture(scope="module")
def advanced(tmp_path_factory):
    """Loads and builds, advances the clock 3 days with activity, loads and builds again."""
    base = tmp_path_factory.mktemp("dbt_incremental")
    path, state = str(base / "warehouse.duckdb"), str(base / "state")
    with run_simulator(SimConfig(seed=9, scale=200, api_key="dbt-test-key", history_days=45, now=START)) as sim:
        load = dict(destination="duckdb", credentials=path, api_key=sim.api_key, base_url=sim.base_url,
                    state_dir=state, requests_per_minute=0)
        sync(**load)
        build_marts("duckdb", path, vars={"as_of_date": sim.now().date().isoformat()}, quiet=True)
        events = sim.advance(timedelta(days=3), activity=True)
        sync(**load)
        as_of = sim.now().date()
        result = build_marts("duckdb", path, vars={"as_of_date": as_of.isoformat()}, quiet=True)
        yield path, compute(sim, as_of), events, result


def _rows(path: str, sql: str) -> list[tuple]:
    with duckdb.connect(path, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_second_build_is_green_and_org_really_changed(advanced):
    _, _, events, result = advanced
    assert {n.status for n in result.nodes} == {"success", "pass"}
    assert sum(events.values()) > 0


def test_marts_equal_ground_truth_after_incremental_runs(advanced):
    path, oracle, _, _ = advanced
    assert set(_rows(path, "select user_id, course_id from litmos_marts.fct_course_completion")) == \
        oracle.completion_pairs
    assert {(u, c): s for u, c, s in _rows(
        path, "select user_id, course_id, compliance_status from litmos_marts.fct_compliance")} == oracle.compliance
    assert {(t, s): n for t, s, n in _rows(
        path, "select team_id, scope, expired_count from litmos_marts.team_compliance_summary")} == \
        {key: counts["expired"] for key, counts in oracle.team_status.items()}


def test_staging_keeps_one_row_per_key_after_merges(advanced):
    path, _, _, _ = advanced
    duplicated = _rows(path, "select user_id, course_id, count(*) from litmos_staging.stg_litmos__course_results "
                             "group by 1, 2 having count(*) > 1")
    assert duplicated == []
    assert _rows(path, "select count(*) from litmos_staging.stg_litmos__course_results")[0][0] == \
        _rows(path, "select count(distinct (user_id, id)) from litmos_raw.course_results")[0][0]
