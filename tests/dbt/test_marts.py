"""The dbt project built on simulator data loaded by the real pipeline, in DuckDB and in Postgres.

Each warehouse is loaded (``pipelines.sync.sync``) and built (``build_marts``) once per module; the tests
then read the marts and compare them with figures computed independently from the simulator's ground
truth (tests/dbt/compliance_oracle.py).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections import Counter
from datetime import datetime, timezone

import duckdb
import psycopg2
import pytest
import yaml

from .compliance_oracle import compute
from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import DBT_PROJECT_DIR as DBT_DIR, DbtRunError, build_marts, target_dir
from pipelines.sync import sync

PG_DSN = os.environ.get("LITMOS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
# Frozen near the real clock: _litmos_synced_at comes from the simulator's clock, and source freshness
# compares it with the warehouse's real now.
SIM_NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
AS_OF = SIM_NOW.date()
# The models of each layer, from the project's files (models/<layer>/**/*.sql): a new model needs no edit here.
MARTS = {path.stem for path in (DBT_DIR / "models" / "marts").rglob("*.sql")}
# models/semantic/ lands in <prefix>_marts too (dbt_project.yml): the team bridge, a mart like the others, and
# MetricFlow's time spine (`time_spine:` in its yml), a calendar: the one table without a tenant column.
TIME_SPINES = {model["name"] for path in (DBT_DIR / "models").rglob("*.yml")
               for model in (yaml.safe_load(path.read_text()) or {}).get("models", []) if "time_spine" in model}
MARTS |= {path.stem for path in (DBT_DIR / "models" / "semantic").rglob("*.sql")} - TIME_SPINES
INTERMEDIATE = {path.stem for path in (DBT_DIR / "models" / "intermediate").rglob("*.sql")}
RAW_TABLES = 23


@pytest.fixture(scope="module")
def sim():
    config = SimConfig(seed=4, scale=200, api_key="dbt-test-key", history_days=60, now=SIM_NOW)
    with run_simulator(config) as running:
        yield running


@pytest.fixture(scope="module")
def oracle(sim):
    return compute(sim, AS_OF)


@pytest.fixture(scope="module")
def pg_module_database():
    """A fresh Postgres database for this module (the shared pg_database fixture is per test)."""
    name = f"litmos_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(PG_DSN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_DSN} ({str(exc).strip().splitlines()[0]}); start it "
                    "(pg_ctlcluster <version> main start) or set LITMOS_TEST_PG_DSN", pytrace=False)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_DSN.rpartition('/')[0]}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class Warehouse:
    """A loaded and built warehouse plus a tiny query helper."""

    def __init__(self, destination: str, credentials: str, result):
        self.destination, self.credentials, self.result = destination, credentials, result

    def rows(self, sql: str) -> list[tuple]:
        if self.destination == "duckdb":
            with duckdb.connect(self.credentials, read_only=True) as con:
                return con.execute(sql).fetchall()
        with psycopg2.connect(self.credentials) as con, con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()


# The test server trusts local connections, so a password in the DSN is accepted and ignored: enough to
# check it never reaches dbt's artifacts or logs.
PG_PASSWORD = "Pw-must-not-leak-7f3a"


def _load_and_build(sim, destination: str, credentials: str, state_dir: str) -> Warehouse:
    sync(destination=destination, credentials=credentials, api_key=sim.api_key, base_url=sim.base_url,
         state_dir=state_dir, requests_per_minute=0)
    dbt_credentials = credentials
    if destination == "postgres":
        dbt_credentials = credentials.replace("://postgres@", f"://postgres:{PG_PASSWORD}@", 1)
    result = build_marts(destination, dbt_credentials, vars={"as_of_date": AS_OF.isoformat()}, quiet=True)
    return Warehouse(destination, credentials, result)


@pytest.fixture(scope="module")
def duckdb_warehouse(sim, tmp_path_factory):
    base = tmp_path_factory.mktemp("dbt_duckdb")
    return _load_and_build(sim, "duckdb", str(base / "warehouse.duckdb"), str(base / "state"))


@pytest.fixture(scope="module")
def postgres_warehouse(sim, pg_module_database, tmp_path_factory):
    base = tmp_path_factory.mktemp("dbt_postgres")
    return _load_and_build(sim, "postgres", pg_module_database, str(base / "state"))


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request) -> Warehouse:
    return request.getfixturevalue(f"{request.param}_warehouse")


def _declared() -> tuple[set[str], set[str], int]:
    """What the project declares: model names (its .sql files), unit test names, number of data tests."""
    models = {path.stem for path in (DBT_DIR / "models").rglob("*.sql")}
    data_tests = len(list((DBT_DIR / "tests").glob("*.sql")))  # singular tests; generic ones are in tests/generic
    unit_tests: set[str] = set()
    for path in (DBT_DIR / "models").rglob("*.yml"):
        doc = yaml.safe_load(path.read_text()) or {}
        for model in doc.get("models", []):
            data_tests += len(model.get("data_tests", []))
            data_tests += sum(len(column.get("data_tests", [])) for column in model.get("columns", []))
        unit_tests |= {test["name"] for test in doc.get("unit_tests", [])}
    return models, unit_tests, data_tests


def test_build_runs_every_model_unit_test_and_data_test_green(warehouse):
    nodes = warehouse.result.nodes
    models, unit_tests, data_tests = _declared()
    assert {n.name for n in nodes if n.resource_type == "model"} == models
    assert {n.name for n in nodes if n.resource_type == "unit_test"} == unit_tests
    assert sum(n.resource_type == "test" for n in nodes) == data_tests
    assert len({n.unique_id for n in nodes}) == len(nodes)
    # Every node green: models (and the on-run-start raw-schema guard) succeed, every test passes (no warning).
    expected = {"model": "success", "operation": "success", "unit_test": "pass", "test": "pass"}
    assert {(n.resource_type, n.status) for n in nodes} == set(expected.items())
    assert [n.name for n in nodes if n.resource_type == "operation"] == ["litmos-on-run-start-0"]
    assert warehouse.result.vars == {"as_of_date": AS_OF.isoformat(), "raw_schema": "litmos_raw"}


def test_models_land_in_exact_schemas(warehouse):
    rows = warehouse.rows("select table_schema, table_name from information_schema.tables "
                          "where table_schema like 'litmos_%' and table_schema not like 'litmos_raw%'")
    by_schema: dict[str, set[str]] = {}
    for schema, table in rows:
        by_schema.setdefault(schema, set()).add(table)
    assert set(by_schema) == {"litmos_staging", "litmos_intermediate", "litmos_marts"}
    assert by_schema["litmos_marts"] == MARTS | TIME_SPINES and TIME_SPINES == {"metricflow_time_spine"}
    assert by_schema["litmos_intermediate"] == INTERMEDIATE
    assert len(by_schema["litmos_staging"]) == RAW_TABLES
    assert all(t.startswith("stg_litmos__") for t in by_schema["litmos_staging"])


def test_login_key_credential_not_carried_into_staging(warehouse):
    columns = {r[0] for r in warehouse.rows(
        "select column_name from information_schema.columns "
        "where table_schema = 'litmos_staging' and table_name = 'stg_litmos__users'")}
    assert "user_id" in columns and "is_active" in columns
    assert "login_key" not in columns


def test_course_completion_rows_equal_ground_truth_pairs(warehouse, oracle):
    rows = warehouse.rows("select user_id, course_id from litmos_marts.fct_course_completion")
    assert len(rows) == len(set(rows))
    assert set(rows) == oracle.completion_pairs


def test_compliance_status_per_row_equals_ground_truth(warehouse, oracle):
    rows = warehouse.rows("select user_id, course_id, compliance_status from litmos_marts.fct_compliance")
    assert {(u, c): s for u, c, s in rows} == oracle.compliance
    assert len(rows) == len(oracle.compliance)
    # The simulated org must exercise the interesting statuses, or this comparison proves little.
    assert {"expired", "compliant", "not_completed"} <= set(oracle.compliance.values())


def test_expired_compliance_rows_per_team_equal_ground_truth(warehouse, oracle):
    rows = warehouse.rows("select team_id, scope, expired_count from litmos_marts.team_compliance_summary")
    expected = {key: counts["expired"] for key, counts in oracle.team_status.items()}
    assert {(t, s): n for t, s, n in rows} == expected
    assert sum(n for (_, scope), n in expected.items() if scope == "team") > 0


def test_team_summary_status_counts_equal_ground_truth(warehouse, oracle):
    rows = warehouse.rows(
        "select team_id, scope, compliant_count, expiring_soon_count, expired_count, overdue_count, "
        "not_completed_count, tracked_count from litmos_marts.team_compliance_summary")
    statuses = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")
    actual = {(r[0], r[1]): dict(zip(statuses + ("tracked",), r[2:])) for r in rows}
    expected = {key: {**{s: c[s] for s in statuses}, "tracked": sum(c.values())}
                for key, c in oracle.team_status.items()}
    assert actual == expected


@pytest.mark.postgres
def test_postgres_password_not_in_dbt_artifacts_or_logs(postgres_warehouse):
    assert postgres_warehouse.result.destination == "postgres"
    checked = 0
    for folder in (target_dir("postgres"), DBT_DIR / "logs"):
        for file in folder.rglob("*"):
            if file.is_file():
                checked += 1
                assert PG_PASSWORD.encode() not in file.read_bytes(), file
    assert checked > 3


@pytest.mark.postgres
def test_both_warehouses_agree_on_every_mart_count_and_derived_value(duckdb_warehouse, postgres_warehouse):
    def counts(wh):
        return {m: wh.rows(f"select count(*) from litmos_marts.{m}")[0][0] for m in sorted(MARTS)}

    assert counts(duckdb_warehouse) == counts(postgres_warehouse)
    # Values computed through the dispatched date macros and the recursive hierarchy must agree too.
    queries = [
        "select user_course_key, compliance_status, compliant_till_date, days_until_expiry, due_date "
        "from litmos_marts.fct_compliance order by 1",
        "select user_course_key, is_overdue, days_to_complete, due_date, assigned_via "
        "from litmos_marts.fct_course_completion order by 1",
        "select team_id, parent_team_id, root_team_id, depth, team_path, team_id_path from litmos_marts.dim_teams "
        "order by 1",
        "select team_scope_key, member_count, tracked_count, compliance_rate from litmos_marts.team_compliance_summary "
        "order by 1",
    ]
    for sql in queries:
        assert duckdb_warehouse.rows(sql) == postgres_warehouse.rows(sql), sql


def test_source_freshness_passes_on_fresh_load_and_names_stale_source(duckdb_warehouse, tmp_path):
    result = build_marts("duckdb", duckdb_warehouse.credentials, command="source freshness", quiet=True)
    assert sorted((n.name, n.status) for n in result.nodes if n.resource_type == "source") == [
        ("course_results", "pass"), ("module_results", "pass"), ("user_logins", "pass")]

    stale = str(tmp_path / "stale.duckdb")
    shutil.copyfile(duckdb_warehouse.credentials, stale)
    with duckdb.connect(stale) as con:
        con.execute("update litmos_raw.course_results set _litmos_synced_at = _litmos_synced_at - interval 4 day")
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", stale, command="source freshness", quiet=True)
    assert str(err.value).startswith("dbt source freshness on duckdb failed: source course_results (error: ")
    assert "\n" not in str(err.value)


def test_failing_data_test_is_named_in_one_line(duckdb_warehouse, tmp_path):
    broken = str(tmp_path / "broken.duckdb")
    shutil.copyfile(duckdb_warehouse.credentials, broken)
    with duckdb.connect(broken) as con:
        # Two results whose ids collide in user_course_key ('a|b' + 'c' and 'a' + 'b|c') break its unique
        # test. (A result for an unknown user only warns: a partial history has those, see
        # test_partial_history.py.)
        con.execute("insert into litmos_raw.course_results (id, user_id, active, completed, _dlt_load_id, _dlt_id) "
                    "values ('c', 'a|b', true, false, '1', 'x1'), ('b|c', 'a', true, false, '1', 'x2')")
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", broken, select="fct_course_completion", quiet=True,
                    vars={"as_of_date": AS_OF.isoformat()})
    message = str(err.value)
    assert message == ("dbt build on duckdb failed: test "
                       "unique_fct_course_completion_user_course_key "
                       "(fail: Got 1 result, configured to fail if != 0); 2 skipped; "
                       "details in dbt_models/logs/dbt.log")


STATUSES = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")


def _one(table: str, key: str) -> str:
    return f"{key} = (select min({key}) from litmos_marts.{table})"


def _flip(table: str, key: str, column: str) -> str:
    return f"update litmos_marts.{table} set {column} = not {column} where {_one(table, key)}"


def _bump_team_row(column: str) -> str:
    return (f"update litmos_marts.team_compliance_summary set {column} = {column} + 1 where team_scope_key = "
            "(select min(team_scope_key) from litmos_marts.team_compliance_summary where scope = 'team')")


def _move_team_status(status: str):
    """Moves one tracked row of a team into (or out of) ``status``: the status counts still add up to
    tracked_count, which is all the check this replaces could see."""
    def corrupt(con) -> None:
        key, *counts = con.execute(
            f"select team_scope_key, {', '.join(s + '_count' for s in STATUSES)} from litmos_marts.team_compliance_summary "
            "where scope = 'team' and tracked_count > 0 order by team_scope_key limit 1").fetchone()
        donor = next((s for s, n in zip(STATUSES, counts) if s != status and n > 0), None)
        up, down = (status, donor) if donor else (next(s for s in STATUSES if s != status), status)
        con.execute(f"update litmos_marts.team_compliance_summary set {up}_count = {up}_count + 1, "
                    f"{down}_count = {down}_count - 1 where team_scope_key = ?", [key])
        row = con.execute("select compliant_count + expiring_soon_count + expired_count + overdue_count + "
                          "not_completed_count, tracked_count from litmos_marts.team_compliance_summary "
                          "where team_scope_key = ?", [key]).fetchone()
        assert row[0] == row[1]
    return corrupt


INTEGRITY_CORRUPTIONS = {
    "dim_users rows = staged users": f"delete from litmos_marts.dim_users where {_one('dim_users', 'user_id')}",
    "dim_courses rows = staged courses": f"delete from litmos_marts.dim_courses where {_one('dim_courses', 'course_id')}",
    "dim_teams rows = staged teams": f"delete from litmos_marts.dim_teams where {_one('dim_teams', 'team_id')}",
    "dim_learning_paths rows = staged learning paths":
        f"delete from litmos_marts.dim_learning_paths where {_one('dim_learning_paths', 'learning_path_id')}",
    "fct_course_completion rows with a result = active staged course results":
        _flip("fct_course_completion", "user_course_key", "has_result"),
    "fct_course_completion direct assignments = active staged user_courses":
        _flip("fct_course_completion", "user_course_key", "is_assigned_direct"),
    "fct_course_completion completed = completed active staged results":
        _flip("fct_course_completion", "user_course_key", "is_completed"),
    "fct_learning_path_completion rows with a result = active staged learning path results":
        _flip("fct_learning_path_completion", "user_learning_path_key", "has_result"),
    "fct_learning_path_completion direct assignments = active staged learning_path_users of paths not deactivated":
        _flip("fct_learning_path_completion", "user_learning_path_key", "is_assigned_direct"),
    "team_compliance_summary team-scope members = active memberships (active team, user not deactivated)":
        _bump_team_row("member_count"),
    "team_compliance_summary team-scope missing users = active memberships (active team) of users not held":
        _bump_team_row("user_missing_count"),
    "fct_course_completion rows flagged course_missing = rows whose course is not in dim_courses":
        _flip("fct_course_completion", "user_course_key", "course_missing"),
    "fct_course_completion rows flagged user_missing = rows whose user is not in dim_users":
        _flip("fct_course_completion", "user_course_key", "user_missing"),
}
for _status in STATUSES:
    INTEGRITY_CORRUPTIONS[f"team_compliance_summary team-scope {_status} rows = {_status} fct_compliance rows of "
                          "the members"] = _move_team_status(_status)
    INTEGRITY_CORRUPTIONS[f"fct_compliance {_status} rows = rows whose dates say {_status}"] = (
        f"update litmos_marts.fct_compliance set compliance_status = '{_status}' where user_course_key = "
        f"(select min(user_course_key) from litmos_marts.fct_compliance where compliance_status <> '{_status}')")


def test_every_integrity_check_fails_when_a_mart_row_is_corrupted(duckdb_warehouse, tmp_path):
    copy = str(tmp_path / "integrity.duckdb")
    shutil.copyfile(duckdb_warehouse.credentials, copy)
    build_marts("duckdb", copy, command="compile", select="assert_marts_agree_with_staging", quiet=True,
                vars={"as_of_date": AS_OF.isoformat()})
    sql = (target_dir("duckdb") / "compiled" / "litmos" / "tests" /
           "assert_marts_agree_with_staging.sql").read_text()
    assert sorted(re.findall(r"^\s*select '([^']+)'", sql, re.M)) == sorted(INTEGRITY_CORRUPTIONS)
    with duckdb.connect(copy) as con:
        assert con.execute(sql).fetchall() == []
        for name, corrupt in INTEGRITY_CORRUPTIONS.items():
            con.begin()
            corrupt(con) if callable(corrupt) else con.execute(corrupt)
            failing = {row[0] for row in con.execute(sql).fetchall()}
            con.rollback()
            assert name in failing, name


def test_docs_generate_writes_catalog(duckdb_warehouse):
    result = build_marts("duckdb", duckdb_warehouse.credentials, command="docs generate", quiet=True)
    assert result.command == "docs generate"
    catalog = json.loads((target_dir("duckdb") / "catalog.json").read_text())
    assert MARTS <= {node["metadata"]["name"] for node in catalog["nodes"].values()}


def test_bad_vars_and_missing_raw_schema_give_one_line_errors(duckdb_warehouse):
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", duckdb_warehouse.credentials, vars={"as_of_date": "31/12/2025"},
                    select="fct_compliance", command="compile", quiet=True)
    assert str(err.value) == ("dbt compile on duckdb failed: var as_of_date must be a date YYYY-MM-DD, got "
                              "'31/12/2025'; pass e.g. --vars '{as_of_date: 2025-06-30}'")
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", duckdb_warehouse.credentials, raw_schema="litmos_nothing_here", quiet=True)
    assert str(err.value) == ("dbt build on duckdb failed: raw schema 'litmos_nothing_here' does not exist in "
                              "the duckdb warehouse: run the sync first (litmos-sync run) or pass the schema "
                              "the pipeline loaded (var raw_schema)")
