"""MetricFlow over the litmos semantic layer (issue 16), in DuckDB and in Postgres: `mf validate-configs`
passes against the built warehouse, and `mf query` figures equal the marts and the simulator's ground
truth. `mf` runs as a user runs it, through pipelines.metrics.run_mf (the .venv's `mf` in a subprocess).
"""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timezone

import pytest

from .built import fresh_pg_database, load_and_build
from .compliance_oracle import compute
from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import DBT_PROJECT_DIR, build_marts, target_dir
from pipelines.metrics import run_mf

SIM_NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
AS_OF = SIM_NOW.date()
COUNTS = ("tracked_count", "compliant_count", "expiring_soon_count", "expired_count", "overdue_count",
          "not_completed_count", "completed_count")
RATES = ("compliance_rate", "completion_rate")


@pytest.fixture(scope="module")
def sim():
    config = SimConfig(seed=4, scale=200, api_key="metrics-test-key", history_days=90, now=SIM_NOW)
    with run_simulator(config) as running:
        yield running


@pytest.fixture(scope="module")
def duckdb_warehouse(sim, tmp_path_factory):
    base = tmp_path_factory.mktemp("metrics_duckdb")
    return load_and_build(sim, "duckdb", str(base / "warehouse.duckdb"), base / "state", AS_OF)


@pytest.fixture(scope="module")
def postgres_warehouse(sim, tmp_path_factory):
    with fresh_pg_database() as dsn:
        yield load_and_build(sim, "postgres", dsn, tmp_path_factory.mktemp("metrics_postgres") / "state", AS_OF)


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request):
    return request.getfixturevalue(f"{request.param}_warehouse")


def _mf(warehouse, *args):
    done = run_mf(list(args), warehouse.destination, warehouse.credentials, vars={"as_of_date": AS_OF.isoformat()})
    assert done.returncode == 0, (f"mf {' '.join(args)} exited {done.returncode}:\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _query(warehouse, tmp_path, metrics, group_by=()) -> list[dict]:
    out = tmp_path / f"mf_{len(list(tmp_path.iterdir()))}.csv"
    args = ["query", "--metrics", ",".join(metrics), "--csv", str(out)]
    if group_by:
        args += ["--group-by", ",".join(group_by)]
    _mf(warehouse, *args)
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _number(value: str):
    return None if value in ("", "None") else float(value)


def test_validate_configs_passes_against_the_warehouse(warehouse):
    out = _mf(warehouse, "validate-configs", "--show-all").stdout
    checks = re.findall(r"Successfully validated (.+?) \(ERRORS: (\d+), FUTURE_ERRORS: (\d+), WARNINGS: (\d+)\)", out)
    # The semantics of the manifest, and every semantic model, dimension, entity, measure and metric
    # queried against the built warehouse.
    assert [name for name, *_ in checks] == [
        "the semantics of built manifest", "semantic models against data warehouse",
        "dimensions against data warehouse", "entities against data warehouse",
        "measures against data warehouse", "metrics against data warehouse"], out
    assert {tuple(counts) for _, *counts in checks} == {("0", "0", "0")}, out


def test_compliance_rate_by_team_equals_team_compliance_summary(warehouse, tmp_path):
    rows = _query(warehouse, tmp_path, RATES + COUNTS, ("team", "team_compliance__scope"))
    actual = {(r["team"], r["team_compliance__scope"]): r for r in rows if r["team_compliance__scope"] != "no_team"}
    mart = warehouse.rows(
        f"select tenant || '|' || team_id, scope, {', '.join(RATES + COUNTS)} "
        "from litmos_marts.team_compliance_summary")
    expected = {(team, scope): dict(zip(RATES + COUNTS, values)) for team, scope, *values in mart}
    tracked = {key for key, values in expected.items() if values["tracked_count"] > 0}
    # A team scope tracking nothing has no rows in the bridge, so mf has no group for it (the mart: rate NULL).
    assert set(actual) == tracked
    assert len(tracked) >= 8
    # Some team's rollup adds its sub-teams' members, so the two scopes differ and both are checked.
    assert any(expected[(team, "rollup")]["tracked_count"] > expected[(team, "team")]["tracked_count"]
               for team, scope in tracked if scope == "team")
    for key in tracked:
        for name in COUNTS:
            assert _number(actual[key][name]) == expected[key][name], (key, name)
        for name in RATES:
            assert _number(actual[key][name]) == pytest.approx(expected[key][name], abs=1e-9), (key, name)
    # Not a constant: teams differ.
    assert len({round(expected[key]["compliance_rate"], 6) for key in tracked}) > 3


def test_team_without_scope_is_the_rollup(warehouse, tmp_path):
    rows = _query(warehouse, tmp_path, ("compliance_rate", "tracked_count"), ("team",))
    by_team = {r["team"]: (_number(r["compliance_rate"]), _number(r["tracked_count"])) for r in rows if r["team"]}
    mart = warehouse.rows("select tenant || '|' || team_id, compliance_rate, tracked_count "
                          "from litmos_marts.team_compliance_summary where scope = 'rollup' and tracked_count > 0")
    assert set(by_team) == {team for team, *_ in mart}
    for team, rate, tracked in mart:
        assert by_team[team] == (pytest.approx(rate, abs=1e-9), tracked)


def test_org_wide_metrics_count_each_row_once(warehouse, tmp_path):
    (row,) = _query(warehouse, tmp_path, RATES + COUNTS + ("days_to_complete",))
    (expected,) = warehouse.rows(
        "select count(*), "
        "count(*) filter (where compliance_status in ('compliant', 'expiring_soon')), "
        "count(*) filter (where is_completed), "
        "count(*) filter (where compliance_status = 'overdue'), "
        "count(*) filter (where compliance_status = 'expiring_soon'), "
        "(select avg(days_to_complete) from litmos_marts.fct_course_completion) "
        "from litmos_marts.fct_compliance")
    tracked, compliant, completed, overdue, expiring, days = expected
    assert _number(row["tracked_count"]) == tracked > 0
    assert _number(row["overdue_count"]) == overdue > 0
    assert _number(row["expiring_soon_count"]) == expiring
    assert _number(row["compliance_rate"]) == pytest.approx(compliant / tracked)
    assert _number(row["completion_rate"]) == pytest.approx(completed / tracked)
    assert _number(row["days_to_complete"]) == pytest.approx(float(days)) and float(days) > 0
    # Users in several teams are in the bridge several times: a plain count would exceed tracked.
    (bridge_rows,) = warehouse.rows("select count(*) from litmos_marts.fct_team_compliance")[0]
    assert bridge_rows > tracked


def test_status_counts_by_course_equal_ground_truth(warehouse, sim, tmp_path):
    rows = _query(warehouse, tmp_path, ("tracked_count", "overdue_count", "expiring_soon_count"), ("course",))
    oracle = compute(sim, AS_OF)
    statuses = {course: Counter() for _, course in oracle.compliance}
    for (_, course), status in oracle.compliance.items():
        statuses[course][status] += 1
        statuses[course]["tracked"] += 1
    actual = {r["course"]: tuple(_number(r[m]) for m in ("tracked_count", "overdue_count", "expiring_soon_count"))
              for r in rows}
    assert actual == {f"default|{course}": (c["tracked"], c["overdue"], c["expiring_soon"])
                      for course, c in statuses.items()}


@pytest.mark.parametrize("grain", ["month", "week", "day"])
def test_history_metrics_by_period_equal_compliance_trend(warehouse, tmp_path, grain):
    """Semi-additive over snapshot_date: a period's figure is its last snapshot day's, as in compliance_trend."""
    names = ("compliance_rate_daily", "completion_rate_daily", "tracked_count_daily", "overdue_count_daily",
             "expiring_soon_count_daily")
    rows = _query(warehouse, tmp_path, names, (f"metric_time__{grain}",))
    actual = {r[f"metric_time__{grain}"][:10]: r for r in rows}
    trend = warehouse.rows(
        "select cast(period_start as varchar), compliance_rate, completion_rate, tracked_count, overdue_count, "
        f"expiring_soon_count from litmos_marts.compliance_trend where grain = '{grain}' and tracked_count > 0")
    assert set(actual) == {period for period, *_ in trend}
    assert len(trend) >= (2 if grain == "month" else 8)
    for period, *values in trend:
        for name, value in zip(names, values):
            assert _number(actual[period][name]) == pytest.approx(value, abs=1e-9), (period, name)
    # The figures move over the history (not one day's figures repeated).
    assert len({values[2] for _, *values in trend}) > 1


def test_history_metrics_without_a_period_are_the_as_of_day(warehouse, tmp_path):
    (row,) = _query(warehouse, tmp_path, ("tracked_count_daily", "overdue_count_daily"))
    (expected,) = warehouse.rows("select count(*), count(*) filter (where compliance_status = 'overdue') "
                                 "from litmos_marts.fct_compliance")
    assert (_number(row["tracked_count_daily"]), _number(row["overdue_count_daily"])) == expected
    (days,) = warehouse.rows("select count(distinct snapshot_date) from litmos_marts.fct_compliance_daily")[0]
    assert days > 30  # so a sum over days would differ


def test_report_exposure_lists_every_mart_the_report_reads(duckdb_warehouse):
    build_marts("duckdb", duckdb_warehouse.credentials, command="parse", quiet=True,
                vars={"as_of_date": AS_OF.isoformat()})
    manifest = json.loads((target_dir("duckdb") / "manifest.json").read_text())
    exposure = manifest["exposures"]["exposure.litmos.compliance_report"]
    listed = {node.rsplit(".", 1)[1] for node in exposure["depends_on"]["nodes"]}
    marts = {path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.sql")}
    source = "\n".join(path.read_text() for path in (DBT_PROJECT_DIR.parent / "pipelines").glob("report*.py"))
    read = {name for name in marts if re.search(rf"\b{name}\b", source)}
    assert {"fct_compliance", "team_compliance_summary", "dim_users"} <= read
    assert read <= listed, f"marts the report reads but the exposure does not list: {sorted(read - listed)}"
    assert listed <= marts and exposure["owner"]["name"]
