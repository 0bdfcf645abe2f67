"""Managers (issue 16): int_manager_chain, dim_managers and manager_compliance_summary on simulator data,
in DuckDB and in Postgres, against the manager chain and statuses of the simulator's ground truth.

The expected figures are derived here, in plain Python, from the users' ManagerId (``sim.ground_truth``)
and the per-(user, course) statuses of tests/dbt/compliance_oracle.py, never from the warehouse.
"""
from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from datetime import datetime, timezone

import duckdb
import pytest
import yaml

from .built import fresh_pg_database, load_and_build
from .compliance_oracle import compute
from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import DBT_PROJECT_DIR, build_marts

SIM_NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
AS_OF = SIM_NOW.date()
STATUSES = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")


@pytest.fixture(scope="module")
def sim():
    config = SimConfig(seed=11, scale=250, api_key="managers-test-key", history_days=90, now=SIM_NOW)
    with run_simulator(config) as running:
        yield running


@pytest.fixture(scope="module")
def truth(sim):
    """Expected rows computed from the simulator's ground truth."""
    users = {u["Id"]: u for u in sim.ground_truth("/org/users/details")}
    oracle = compute(sim, AS_OF)
    results = {(r["UserId"], r["Id"]): r for r in sim.ground_truth("/org/results/details")
               if r.get("Active") is not False}
    active = {u for u, row in users.items() if row.get("Active") is not False}

    chain = {}  # (manager, user) -> depth, walking ManagerId upwards; a cycle or an unknown id ends it
    for user in users:
        seen, manager, depth = {user}, users[user].get("ManagerId"), 1
        while manager in users and manager not in seen:
            chain[(manager, user)] = depth
            seen.add(manager)
            manager, depth = users[manager].get("ManagerId"), depth + 1
    managers = {m for m, _ in chain}
    scoped = {}
    for m in managers:
        below = {u for (mm, u), d in chain.items() if mm == m and u in active}
        scoped[(m, "direct")] = {u for u in below if chain[(m, u)] == 1}
        scoped[(m, "all")] = below

    by_user = defaultdict(list)  # user -> [(status, completed)] of its fct_compliance rows
    for (user, course), status in oracle.compliance.items():
        by_user[user].append((status, (results.get((user, course)) or {}).get("Completed") is True))
    summary = {}
    for key, scope_users in scoped.items():
        rows = [row for u in scope_users for row in by_user[u]]
        statuses = Counter(status for status, _ in rows)
        summary[key] = {"reports": len(scope_users), "tracked": len(rows), "completed": sum(c for _, c in rows),
                        **{s: statuses[s] for s in STATUSES}}
    return {"users": users, "chain": chain, "managers": managers, "scoped": scoped, "summary": summary}


@pytest.fixture(scope="module")
def duckdb_warehouse(sim, tmp_path_factory):
    base = tmp_path_factory.mktemp("managers_duckdb")
    return load_and_build(sim, "duckdb", str(base / "warehouse.duckdb"), base / "state", AS_OF)


@pytest.fixture(scope="module")
def postgres_warehouse(sim, tmp_path_factory):
    with fresh_pg_database() as dsn:
        yield load_and_build(sim, "postgres", dsn, tmp_path_factory.mktemp("managers_postgres") / "state", AS_OF)


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request):
    return request.getfixturevalue(f"{request.param}_warehouse")


def test_simulated_manager_chains_are_deeper_than_direct_reports(truth):
    # Otherwise the 'all' scope would equal 'direct' and the roll-up would be untested.
    depths = Counter(truth["chain"].values())
    assert depths[1] > 20 and depths[2] > 10 and depths[3] > 0, depths


def test_manager_chain_equals_truth(warehouse, truth):
    rows = warehouse.rows("select tenant, manager_user_id, user_id, depth from litmos_intermediate.int_manager_chain")
    assert {r[0] for r in rows} == {"default"}
    assert {(m, u): d for _, m, u, d in rows} == truth["chain"]
    assert len(rows) == len(truth["chain"])


def test_dim_managers_report_counts_equal_truth(warehouse, truth):
    rows = warehouse.rows("select manager_user_id, manager_name, is_active, direct_report_count, total_report_count "
                          "from litmos_marts.dim_managers")
    users, scoped = truth["users"], truth["scoped"]
    assert {r[0]: r[1:] for r in rows} == {
        m: (users[m]["FullName"], users[m].get("Active") is not False, len(scoped[(m, "direct")]),
            len(scoped[(m, "all")])) for m in truth["managers"]}
    # Deactivated reports exist and are left out of the counts, so the filter is exercised.
    assert any(users[u].get("Active") is False for m, u in truth["chain"])


def test_manager_summary_equals_truth(warehouse, truth):
    rows = warehouse.rows(
        "select manager_user_id, scope, report_count, tracked_count, completed_count, compliant_count, "
        "expiring_soon_count, expired_count, overdue_count, not_completed_count, compliance_rate, completion_rate "
        "from litmos_marts.manager_compliance_summary")
    fields = ("reports", "tracked", "completed") + STATUSES
    actual = {(r[0], r[1]): dict(zip(fields, r[2:10])) for r in rows}
    assert actual == truth["summary"]
    for manager, scope, *_, compliance_rate, completion_rate in rows:
        expected = truth["summary"][(manager, scope)]
        if expected["tracked"] == 0:
            assert compliance_rate is None and completion_rate is None
        else:
            assert compliance_rate == pytest.approx(
                (expected["compliant"] + expected["expiring_soon"]) / expected["tracked"])
            assert completion_rate == pytest.approx(expected["completed"] / expected["tracked"])
    # The roll-up adds something: some manager's 'all' scope tracks more than its direct reports.
    assert any(actual[(m, "all")]["tracked"] > actual[(m, "direct")]["tracked"] for m in truth["managers"])
    assert sum(counts["overdue"] for counts in truth["summary"].values()) > 0


def test_cyclic_manager_chain_is_cut(duckdb_warehouse, truth, tmp_path):
    """Bad data: A -> B -> C -> A and a user managing itself. The chain ends instead of looping, no user is
    below itself, and every model and test downstream still builds green."""
    copy = str(tmp_path / "cycle.duckdb")
    shutil.copyfile(duckdb_warehouse.credentials, copy)
    a, b, c, d = sorted(truth["users"])[:4]
    with duckdb.connect(copy) as con:
        for user, manager in ((a, b), (b, c), (c, a), (d, d)):
            con.execute("update litmos_raw.users set manager_id = ? where id = ?", [manager, user])
    build_marts("duckdb", copy, select="int_manager_chain+", quiet=True, vars={"as_of_date": AS_OF.isoformat()})
    with duckdb.connect(copy, read_only=True) as con:
        rows = con.execute("select manager_user_id, user_id, depth from litmos_intermediate.int_manager_chain "
                           "where user_id in (?, ?, ?, ?)", [a, b, c, d]).fetchall()
        assert con.execute("select count(*) from litmos_intermediate.int_manager_chain "
                           "where manager_user_id = user_id").fetchone() == (0,)
    assert sorted(rows) == sorted([(b, a, 1), (c, a, 2), (c, b, 1), (a, b, 2), (a, c, 1), (b, c, 2)])


def test_descriptions_reach_the_warehouse_as_comments(warehouse):
    """persist_docs (dbt_project.yml): every described column and the relation carry their yml description
    as a comment, which BI tools show."""
    doc = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "_managers.yml").read_text())
    for model in doc["models"]:
        name = model["name"]
        if warehouse.destination == "duckdb":
            relation = warehouse.rows(f"select comment from duckdb_tables() where schema_name = 'litmos_marts' "
                                      f"and table_name = '{name}'")
            columns = warehouse.rows(f"select column_name, comment from duckdb_columns() "
                                     f"where schema_name = 'litmos_marts' and table_name = '{name}'")
        else:
            relation = warehouse.rows(f"select obj_description('litmos_marts.{name}'::regclass, 'pg_class')")
            columns = warehouse.rows(
                f"select attname, col_description(attrelid, attnum) from pg_attribute "
                f"where attrelid = 'litmos_marts.{name}'::regclass and attnum > 0 and not attisdropped")
        assert relation == [(model["description"],)], name
        assert dict(columns) == {c["name"]: c["description"] for c in model["columns"]}, name
