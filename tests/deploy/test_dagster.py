"""deploy/dagster/definitions.py under the real Dagster (.venv-dagster): two tenants' partitions, each
against its own simulated org, into DuckDB and into Postgres; raw rows against each org's ground truth,
the marts built, the tenants check passing, then failing for a tenant that never synced."""
from __future__ import annotations

import json
import subprocess

import pytest

from pipelines.warehouse import open_warehouse
from sources.litmos.settings import ENDPOINTS
from tests.deploy.conftest import ROOT, connect, marts_users_per_tenant, orchestrator_venv, run, tenant_env
from tests.source.truth import diff_all

DEFINITIONS = ROOT / "deploy" / "dagster" / "definitions.py"
TENANTS = {"acme": 21, "beta": 22}  # tenant -> simulator seed (different orgs, different data)
MARTS = ["dim_courses", "dim_learning_paths", "dim_teams", "dim_users", "fct_compliance",
         "fct_course_completion", "fct_learning_path_completion", "team_compliance_summary"]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_tenant_partitions_then_marts(destination, make_litmos_sim, tmp_path, request):
    bin_dir = orchestrator_venv("dagster")
    sims = {name: make_litmos_sim(seed=seed, scale=100, history_days=8, api_key=f"key-{name}-0123456789")
            for name, seed in TENANTS.items()}
    credentials = str(tmp_path / "w.duckdb") if destination == "duckdb" else request.getfixturevalue("pg_database")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = tenant_env(sims, {"DAGSTER_HOME": str(home), "LITMOS_DESTINATION": destination,
                            f"DESTINATION__{destination.upper()}__CREDENTIALS": credentials,
                            "LITMOS_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)})

    for name in TENANTS:  # the CLI, one partition (= tenant) per run, as the nightly schedule asks
        run([bin_dir / "dagster", "asset", "materialize", "-f", DEFINITIONS, "--select", "group:litmos_raw",
             "--partition", name], env, tmp_path)

    conn = connect(destination, credentials)
    try:
        for name, sim in sims.items():
            assert diff_all(sim, conn, f"litmos_raw__{name}") == [], name
        # Isolation: each dataset holds its own org only (the seeds give the orgs different users).
        acme_users = {r[0] for r in _rows(conn, "select id from litmos_raw__acme.users")}
        beta_users = {r[0] for r in _rows(conn, "select id from litmos_raw__beta.users")}
        assert acme_users and beta_users and not acme_users & beta_users
    finally:
        conn.close()
    with open_warehouse(destination, credentials) as wh:
        for name in TENANTS:
            runs = wh.query(f"SELECT resource, status FROM litmos_raw__{name}._litmos_sync_runs")
            assert sorted(r["resource"] for r in runs) == sorted(ENDPOINTS)
            assert {r["status"] for r in runs} == {"success"}

    done = run([bin_dir / "python", ROOT / "tests" / "deploy" / "dagster_marts.py", DEFINITIONS,
                "litmos_marts_build"], env, tmp_path)
    built = json.loads(done.stdout.strip().splitlines()[-1])
    assert (built["success"], built["failures"]) == (True, [])
    assert {f"litmos_marts/{m}" for m in MARTS} <= set(built["materialized"])
    assert built["checks"]["tenants_synced"] == {"passed": True, "metadata": {"stale_tenants": "{}"}}
    assert built["checks"]["freshness_check"]["passed"] is True
    assert built["schedule"] == [["2026-01-15-acme", "acme", "litmos_raw_nightly"],
                                 ["2026-01-15-beta", "beta", "litmos_raw_nightly"]]
    conn = connect(destination, credentials)
    try:
        got, want = marts_users_per_tenant(conn, sims)
        assert got == want
    finally:
        conn.close()

    if destination == "postgres":
        return  # the check reads the run history the same way on both warehouses
    # A third tenant whose key the server rejects: its partition's run fails with the reason and no key,
    # and the check names it as never synced.
    env["SOURCES__LITMOS__TENANTS__GAMMA__API_KEY"] = "key-gamma-0123456789"
    env["SOURCES__LITMOS__TENANTS__GAMMA__BASE_URL"] = sims["acme"].base_url
    failed = subprocess.run([str(bin_dir / "dagster"), "asset", "materialize", "-f", str(DEFINITIONS), "--select",
                             "group:litmos_raw", "--partition", "gamma"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert failed.returncode != 0
    assert "the API key was rejected" in failed.stdout + failed.stderr
    assert "key-gamma-0123456789" not in failed.stdout + failed.stderr
    done = run([bin_dir / "python", ROOT / "tests" / "deploy" / "dagster_marts.py", DEFINITIONS, "checks"],
               env, tmp_path)
    built = json.loads(done.stdout.strip().splitlines()[-1])
    assert built["materialized"] == []
    assert built["checks"]["tenants_synced"] == {"passed": False,
                                                 "metadata": {"stale_tenants": '{"gamma": "last run failed for '
                                                              + ', '.join(sorted(ENDPOINTS)) + '"}'}}


def _rows(conn, sql):
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()
