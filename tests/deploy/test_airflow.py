"""deploy/airflow/litmos_sync_dag.py under the real Airflow 3 (.venv-airflow), `airflow dags test` with
SQLite metadata: two tenants against two simulated orgs plus one with a rejected key. The good tenants'
raw rows equal their orgs' truth, the bad one fails its own mapped task only (no retry), the marts build."""
from __future__ import annotations

import sqlite3

import pytest

from pipelines.warehouse import open_warehouse
from tests.deploy.conftest import ROOT, connect, marts_users_per_tenant, orchestrator_venv, run, tenant_env
from tests.source.truth import diff_all

TENANTS = {"acme": 31, "beta": 32}

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_dag_maps_one_task_per_tenant_then_dbt(destination, make_litmos_sim, tmp_path, request):
    bin_dir = orchestrator_venv("airflow")
    sims = {name: make_litmos_sim(seed=seed, scale=100, history_days=8, api_key=f"key-{name}-0123456789")
            for name, seed in TENANTS.items()}
    credentials = str(tmp_path / "w.duckdb") if destination == "duckdb" else request.getfixturevalue("pg_database")
    home = tmp_path / "airflow_home"
    env = tenant_env(sims, {
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "deploy" / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "LITMOS_DESTINATION": destination, f"DESTINATION__{destination.upper()}__CREDENTIALS": credentials,
        "LITMOS_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)})
    # A third org whose key the server rejects (acme's host, a wrong key): it must fail alone.
    env["SOURCES__LITMOS__TENANTS__GAMMA__API_KEY"] = "wrong-key-0123456789"
    env["SOURCES__LITMOS__TENANTS__GAMMA__BASE_URL"] = sims["acme"].base_url

    run([bin_dir / "airflow", "db", "migrate"], env, tmp_path)
    done = run([bin_dir / "airflow", "dags", "test", "litmos_sync"], env, tmp_path, timeout=900)
    assert "wrong-key-0123456789" not in done.stdout + done.stderr

    with sqlite3.connect(home / "airflow.db") as meta:
        states = meta.execute("SELECT task_id, map_index, state, try_number FROM task_instance "
                              "ORDER BY task_id, map_index").fetchall()
        mapped = meta.execute("SELECT value FROM xcom WHERE task_id = 'tenant_names'").fetchall()
    assert states == [("build_marts", -1, "success", 1), ("sync_tenant", 0, "success", 1),
                      ("sync_tenant", 1, "success", 1), ("sync_tenant", 2, "failed", 1),
                      ("tenant_names", -1, "success", 1)], (states, mapped)

    conn = connect(destination, credentials)
    try:
        for name, sim in sims.items():
            assert diff_all(sim, conn, f"litmos_raw__{name}") == [], name
        got, want = marts_users_per_tenant(conn, sims)
        assert got == want
    finally:
        conn.close()
    with open_warehouse(destination, credentials) as wh:
        for name in TENANTS:
            runs = wh.query(f"SELECT status FROM litmos_raw__{name}._litmos_sync_runs")
            assert {r["status"] for r in runs} == {"success"}
        failed = wh.query("SELECT status, error FROM litmos_raw__gamma._litmos_sync_runs")
    assert failed and {r["status"] for r in failed} == {"failed"}
    assert all("the API key was rejected" in r["error"] and "wrong-key" not in r["error"] for r in failed)
