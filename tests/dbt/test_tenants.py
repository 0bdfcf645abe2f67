"""Many orgs in one warehouse: each tenant loaded by the real pipeline from its own simulated org into its
own raw dataset, then ONE dbt build over all of them (``build_marts(tenants=...)``), in DuckDB and Postgres.

The orgs: ``acme`` (seed 4) and ``beta`` (seed 4 too, so the two share every id, but three days of
activity later, so their states differ), ``gamma`` (seed 7), ``delta`` (only ``users`` loaded: every other
raw table is missing) and ``ghost`` (configured, never loaded: no raw schema). Per tenant, the marts must
equal figures computed from that org's own ground truth (tests/dbt/compliance_oracle.py).
"""
from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta

import duckdb
import psycopg2
import pytest

from .compliance_oracle import compute
from .test_marts import (  # noqa: F401 - pg_module_database is a fixture
    AS_OF, DBT_DIR, MARTS, SIM_NOW, TIME_SPINES, Warehouse, pg_module_database)
from litmos_sim import SimConfig, run_simulator
from pipelines import config
from pipelines.config import ConfigError
from pipelines.dbt_runner import DbtRunError, build_marts
from pipelines.report import STATUSES, collect_report_data, render_html
from pipelines.sync import sync
from pipelines.warehouse import open_warehouse

ORGS = {"acme": dict(seed=4), "beta": dict(seed=4), "gamma": dict(seed=7), "delta": dict(seed=11)}
LOADED = ("acme", "beta", "gamma")  # fully loaded; delta has users only, ghost nothing
TENANTS = [(name, config.tenant_dataset("litmos_raw", name)) for name in (*ORGS, "ghost")]


def _schema(name: str) -> str:
    """The schema of a tenant's dataset: used as written (the sync keeps its ``__``)."""
    return config.tenant_dataset("litmos_raw", name)


@pytest.fixture(scope="module")
def orgs():
    """One running simulator per org; beta starts three days back and then lives three days of activity."""
    sims = {}
    with run_simulator(SimConfig(scale=200, api_key="key-acme", history_days=60, now=SIM_NOW, **ORGS["acme"])) as a, \
            run_simulator(SimConfig(scale=200, api_key="key-beta", history_days=60, now=SIM_NOW - timedelta(days=3),
                                    **ORGS["beta"])) as b, \
            run_simulator(SimConfig(scale=200, api_key="key-gamma", history_days=60, now=SIM_NOW, **ORGS["gamma"])) as g, \
            run_simulator(SimConfig(scale=200, api_key="key-delta", history_days=60, now=SIM_NOW, **ORGS["delta"])) as d:
        assert sum(b.advance(timedelta(days=3), activity=True).values()) > 0
        sims = {"acme": a, "beta": b, "gamma": g, "delta": d}
        yield sims


@pytest.fixture(scope="module")
def oracles(orgs):
    return {name: compute(orgs[name], AS_OF) for name in LOADED}


def _load(orgs, destination: str, credentials: str, state_dir: str) -> None:
    for name, sim in orgs.items():
        sync(destination=destination, credentials=credentials, dataset=config.tenant_dataset("litmos_raw", name),
             pipeline_name=f"litmos__{name}", api_key=sim.api_key, base_url=sim.base_url, state_dir=state_dir,
             requests_per_minute=0, resources="users" if name == "delta" else None)


def _build(destination: str, credentials: str, **kwargs):
    return build_marts(destination, credentials, vars={"as_of_date": AS_OF.isoformat()}, quiet=True, **kwargs)


@pytest.fixture(scope="module")
def duckdb_tenants(orgs, tmp_path_factory):
    base = tmp_path_factory.mktemp("dbt_tenants")
    path = str(base / "warehouse.duckdb")
    _load(orgs, "duckdb", path, str(base / "state"))
    return Warehouse("duckdb", path, _build("duckdb", path, tenants=TENANTS))


@pytest.fixture(scope="module")
def postgres_tenants(orgs, pg_module_database, tmp_path_factory):
    _load(orgs, "postgres", pg_module_database, str(tmp_path_factory.mktemp("dbt_tenants_pg") / "state"))
    return Warehouse("postgres", pg_module_database, _build("postgres", pg_module_database, tenants=TENANTS))


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def wh(request) -> Warehouse:
    return request.getfixturevalue(f"{request.param}_tenants")


def _by_tenant(rows) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for tenant, *rest in rows:
        out.setdefault(tenant, []).append(tuple(rest))
    return out


def test_one_build_over_every_tenant_is_green_and_passes_the_tenants_to_dbt(wh):
    result = wh.result
    assert {(n.resource_type, n.status) for n in result.nodes} == {
        ("model", "success"), ("operation", "success"), ("unit_test", "pass"), ("test", "pass")}
    assert result.tenants == tuple((name, _schema(name)) for name, _ in TENANTS)
    assert result.vars == {"as_of_date": AS_OF.isoformat(), "raw_schema": "litmos_raw", "schema_prefix": "litmos",
                           "tenants": [{"name": n, "schema": s} for n, s in result.tenants]}
    assert result.marts_schema == config.marts_schema("litmos_raw") == "litmos_marts"
    # Every model (staging views included) carries the tenant column.
    models = wh.rows("select table_schema, table_name, count(*) filter (where column_name = 'tenant') "
                     "from information_schema.columns where table_schema in "
                     "('litmos_staging', 'litmos_intermediate', 'litmos_marts') group by 1, 2")
    tenant_columns = {table: n for _, table, n in models}
    assert set(tenant_columns) == {path.stem for path in (DBT_DIR / "models").rglob("*.sql")}
    assert {table for table, n in tenant_columns.items() if n != 1} == TIME_SPINES  # a calendar has no tenant


def test_each_tenants_marts_equal_its_own_orgs_ground_truth(wh, oracles):
    pairs = _by_tenant(wh.rows("select tenant, user_id, course_id from litmos_marts.fct_course_completion"))
    compliance = _by_tenant(wh.rows("select tenant, user_id, course_id, compliance_status "
                                    "from litmos_marts.fct_compliance"))
    teams = _by_tenant(wh.rows("select tenant, team_id, scope, compliant_count, expiring_soon_count, "
                               "expired_count, overdue_count, not_completed_count "
                               "from litmos_marts.team_compliance_summary"))
    assert set(pairs) == set(compliance) == set(teams) == set(LOADED)  # delta has no facts, ghost nothing
    statuses = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")
    for name in LOADED:
        oracle = oracles[name]
        assert len(pairs[name]) == len(set(pairs[name])) and set(pairs[name]) == oracle.completion_pairs, name
        assert len(compliance[name]) == len(oracle.compliance), name
        assert {(u, c): s for u, c, s in compliance[name]} == oracle.compliance, name
        assert {(t, s): dict(zip(statuses, counts)) for t, s, *counts in teams[name]} == \
            {key: {s: c[s] for s in statuses} for key, c in oracle.team_status.items()}, name
    # Same ids, different states: a join that lost the tenant would have mixed these two up.
    assert oracles["acme"].compliance != oracles["beta"].compliance


def test_tenants_sharing_ids_keep_one_row_each_and_unique_keys(wh, orgs):
    acme = {r["Id"] for r in orgs["acme"].ground_truth("/org/users/details")}
    beta = {r["Id"] for r in orgs["beta"].ground_truth("/org/users/details")}
    assert len(acme & beta) >= 150  # the point of the test: the two orgs really share ids
    users = _by_tenant(wh.rows("select tenant, user_id from litmos_marts.dim_users"))
    assert sorted(users) == ["acme", "beta", "delta", "gamma"]
    for name, ids in users.items():
        truth = {r["Id"] for r in orgs[name].ground_truth("/org/users/details")}
        assert sorted(ids) == sorted((i,) for i in truth), name
    for mart, key in (("fct_course_completion", "user_course_key"), ("fct_compliance", "user_course_key"),
                      ("fct_learning_path_completion", "user_learning_path_key"),
                      ("team_compliance_summary", "team_scope_key")):
        total, distinct, prefixed = wh.rows(
            f"select count(*), count(distinct {key}), count(*) filter (where {key} like tenant || '|%') "
            f"from litmos_marts.{mart}")[0]
        assert total == distinct == prefixed > 0, mart


def test_a_tenant_missing_its_schema_or_tables_is_skipped(wh, orgs):
    rows = {m: dict(wh.rows(f"select tenant, count(*) from litmos_marts.{m} group by 1")) for m in sorted(MARTS)}
    assert all("ghost" not in counts for counts in rows.values())
    assert rows["dim_users"]["delta"] == len(orgs["delta"].ground_truth("/org/users/details"))
    assert all("delta" not in rows[m] for m in ("dim_courses", "fct_course_completion", "fct_compliance"))


def test_only_missing_tenant_schemas_fail_in_one_line(duckdb_tenants):
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", duckdb_tenants.credentials, quiet=True,
                    tenants=[("ghost", "litmos_raw__ghost"), ("gone", "litmos_raw__gone")])
    assert str(err.value) == (
        "dbt build on duckdb failed: none of the tenants' raw schemas (litmos_raw__ghost, litmos_raw__gone) exists "
        "in the duckdb warehouse: run the sync first (litmos-sync run) or pass the schemas the pipeline loaded "
        "(var tenants)")


@pytest.mark.parametrize(("tenants", "message"), [
    ([], "no tenants to build: pass at least one (tenant name, raw dataset) pair, "
         "e.g. tenants=[('acme', 'litmos_raw__acme')]"),
    ([("ac'me", "litmos_raw__acme")], "invalid tenant (\"ac'me\", 'litmos_raw__acme'): give (name, raw dataset), "
                                      "the name of letters, digits, '_' and '-', e.g. ('acme', 'litmos_raw__acme')"),
    ([("acme", "raw; drop schema x")], "invalid raw dataset 'raw; drop schema x' of tenant 'acme': use the "
                                       "tenant's dlt dataset name, e.g. litmos_raw__acme"),
    ([("acme", "a_raw"), ("acme", "b_raw")], "tenant 'acme' is listed twice: give each tenant once"),
])
def test_bad_tenants_are_refused_before_dbt_runs(tmp_path, tenants, message):
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", str(tmp_path / "w.duckdb"), tenants=tenants)
    assert str(err.value) == message


def test_source_freshness_is_checked_per_tenant(duckdb_tenants, tmp_path):
    loaded = [(n, d) for n, d in TENANTS if n in LOADED]
    result = build_marts("duckdb", duckdb_tenants.credentials, command="source freshness", tenants=loaded, quiet=True)
    assert sorted((n.tenant, n.name, n.status) for n in result.nodes if n.resource_type == "source") == [
        (t, s, "pass") for t in sorted(LOADED) for s in ("course_results", "module_results", "user_logins")]

    stale = str(tmp_path / "stale.duckdb")
    shutil.copyfile(duckdb_tenants.credentials, stale)
    with duckdb.connect(stale) as con:
        con.execute(f"update {_schema('gamma')}.course_results set _litmos_synced_at = _litmos_synced_at - interval 4 day")
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", stale, command="source freshness", tenants=loaded, quiet=True)
    assert str(err.value).startswith(
        "dbt source freshness on duckdb failed: source course_results of tenant gamma (error: ")
    assert "\n" not in str(err.value)


@pytest.mark.postgres
def test_two_environments_share_one_postgres_database(postgres_tenants, oracles):
    dsn = postgres_tenants.credentials
    before = {m: postgres_tenants.rows(f"select count(*) from litmos_marts.{m}")[0][0] for m in sorted(MARTS)}
    # dev: tenants given, prefix from the configured dataset dev_raw.
    # `dbt run`: where the models land and what they hold; the data tests are the first environment's.
    dev = _build("postgres", dsn, raw_schema="dev_raw", tenants=[("acme", config.tenant_dataset("litmos_raw", "acme"))],
                 command="run")
    # prod: a single-org warehouse (no tenants: dbt derives tenant 'default' and the prefix from raw_schema),
    # its raw schema a copy of gamma's.
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute("create schema prod_raw")
        cur.execute(f"select table_name from information_schema.tables where table_schema = '{_schema('gamma')}'")
        for (table,) in cur.fetchall():
            cur.execute(f'create table prod_raw."{table}" as select * from {_schema("gamma")}."{table}"')
    prod = _build("postgres", dsn, raw_schema="prod_raw", command="run")
    assert (dev.marts_schema, prod.marts_schema) == ("dev_marts", "prod_marts")
    assert prod.vars == {"as_of_date": AS_OF.isoformat(), "raw_schema": "prod_raw"}

    schemas = {r[0] for r in postgres_tenants.rows("select schema_name from information_schema.schemata")}
    for prefix in ("litmos", "dev", "prod"):
        assert {f"{prefix}_staging", f"{prefix}_intermediate", f"{prefix}_marts"} <= schemas, prefix
    for prefix, tenant, org in (("dev", "acme", "acme"), ("prod", "default", "gamma")):
        rows = postgres_tenants.rows(f"select tenant, user_id, course_id, compliance_status from {prefix}_marts.fct_compliance")
        assert {t for t, *_ in rows} == {tenant}
        assert {(u, c): s for _, u, c, s in rows} == oracles[org].compliance, prefix
    # The first environment's marts are untouched.
    assert {m: postgres_tenants.rows(f"select count(*) from litmos_marts.{m}")[0][0] for m in sorted(MARTS)} == before


def test_report_across_tenants_is_labelled_and_one_tenant_is_exact(duckdb_tenants, orgs, oracles):
    with open_warehouse("duckdb", duckdb_tenants.credentials, read_only=True) as con:
        everyone = collect_report_data(con)
        gamma = collect_report_data(con, tenant="gamma")
        with pytest.raises(ConfigError) as err:
            collect_report_data(con, tenant="ghost")
    assert str(err.value) == ("tenant 'ghost' has no rows in litmos_marts (tenants in the marts: acme, beta, delta, "
                              "gamma); pick one of those, or rebuild the marts (litmos-sync run) if it was synced since")
    assert (everyone.tenants, everyone.labelled, gamma.tenants, gamma.labelled) == (
        ["acme", "beta", "delta", "gamma"], True, ["gamma"], False)
    truth = {name: Counter(oracles[name].compliance.values()) for name in LOADED}
    assert everyone.compliance_by_status == {s: sum(truth[n][s] for n in LOADED) for s in STATUSES}
    assert gamma.compliance_by_status == {s: truth["gamma"][s] for s in STATUSES}
    assert gamma.expiring_total == truth["gamma"]["expiring_soon"]
    assert {r["tenant"] for r in everyone.course_completion} == set(LOADED)
    assert all("tenant" not in r for r in gamma.course_completion + gamma.expiring + gamma.overdue)
    # One tenant's rows: the assigned pairs of its active users on active courses, from its ground truth.
    assert sum(r["assigned"] for r in gamma.course_completion) == \
        _active_pairs(orgs["gamma"], oracles["gamma"]) == \
        sum(r["assigned"] for r in everyone.course_completion if r["tenant"] == "gamma")

    page, filtered = render_html(everyone), render_html(gamma)
    assert "Tenants: acme, beta, delta, gamma." in page and "<th>Tenant</th><th>Course</th>" in page
    assert "Tenant: gamma." in filtered and "<th>Tenant</th>" not in filtered


def _active_pairs(sim, oracle) -> int:
    users = {r["Id"]: r for r in sim.ground_truth("/org/users/details")}
    courses = {r["Id"]: r for r in sim.ground_truth("/org/courses")}
    return sum(1 for u, c in oracle.completion_pairs if u in users and c in courses
               and users[u].get("Active") is not False and courses[c].get("Active") is not False)


def test_freshness_of_one_given_tenant_reads_its_dataset_and_a_never_loaded_one_fails(duckdb_tenants):
    # There is no litmos_raw in this warehouse: the source is read in the tenant's own dataset.
    result = build_marts("duckdb", duckdb_tenants.credentials, command="source freshness", quiet=True,
                         tenants=[("beta", config.tenant_dataset("litmos_raw", "beta"))])
    assert sorted((n.tenant, n.name, n.status) for n in result.nodes if n.resource_type == "source") == [
        ("beta", s, "pass") for s in ("course_results", "module_results", "user_logins")]
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", duckdb_tenants.credentials, command="source freshness", quiet=True,
                    tenants=[("acme", config.tenant_dataset("litmos_raw", "acme")),
                             ("ghost", config.tenant_dataset("litmos_raw", "ghost"))])
    assert str(err.value) == (
        "dbt source freshness on duckdb failed: tenant ghost: raw schema 'litmos_raw__ghost' does not exist in the "
        "duckdb warehouse: run the sync first (litmos-sync run) or pass the schema the pipeline loaded (var raw_schema)")
