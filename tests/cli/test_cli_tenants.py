"""Many orgs end to end: three simulated orgs synced in parallel into one warehouse, each exact, none
leaking into another; an incremental run after activity; a wrong key fails its tenant alone."""
from __future__ import annotations

import datetime as dt
import json

import duckdb
import psycopg2
import pytest

from litmos_sim.pytest_fixtures import make_litmos_sim  # noqa: F401 - fixture
from pipelines import cli, run_history
from pipelines.warehouse import open_warehouse
from sources.litmos.settings import ENDPOINTS
from tests.source.truth import diff_all

NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.timezone.utc)
START = "2026-02-17"  # a day before the simulated history begins
TENANTS = {"acme": 21, "beta": 22, "gamma_eu": 23}  # name -> simulator seed
KEYS = {name: f"sk-{name}-secret-0123456789" for name in TENANTS}
RUN = ["run", "--start-date", START, "--requests-per-minute", "0", "--no-dbt"]


@pytest.fixture
def orgs(make_litmos_sim, monkeypatch, tmp_path):  # noqa: F811 - the fixture imported above
    """One simulated org per tenant, configured through the environment only."""
    monkeypatch.chdir(tmp_path)
    for var in ("SOURCES__LITMOS__API_KEY", "SOURCES__LITMOS__BASE_URL", "SOURCES__LITMOS__SOURCE"):
        monkeypatch.delenv(var, raising=False)
    sims = {}
    for name, seed in TENANTS.items():
        sims[name] = make_litmos_sim(seed=seed, scale=200, history_days=20, now=NOW, api_key=KEYS[name])
        monkeypatch.setenv(f"SOURCES__LITMOS__TENANTS__{name.upper()}__API_KEY", KEYS[name])
        monkeypatch.setenv(f"SOURCES__LITMOS__TENANTS__{name.upper()}__BASE_URL", sims[name].base_url)
        monkeypatch.setenv(f"SOURCES__LITMOS__TENANTS__{name.upper()}__SOURCE", f"src-{name}")
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    return sims


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _connect(destination, tmp_path, dsn):
    if destination == "duckdb":
        return duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    return psycopg2.connect(dsn)


def _assert_exact(orgs, destination, tmp_path, dsn, names=TENANTS):
    """Each tenant's raw tables equal its org's truth, and hold no id of another org."""
    conn = _connect(destination, tmp_path, dsn)
    try:
        for name in names:
            assert diff_all(orgs[name], conn, f"litmos_raw__{name}") == [], name
            cur = conn.cursor()
            cur.execute(f'SELECT "id" FROM "litmos_raw__{name}"."users"')
            ids = {row[0] for row in cur.fetchall()}
            assert ids
            for other in TENANTS:
                if other != name:
                    theirs = {u["Id"] for u in orgs[other].ground_truth(ENDPOINTS["users"].path)}
                    assert not ids & theirs, f"{other}'s users in {name}'s dataset"
    finally:
        conn.close()


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_three_tenants_in_parallel_then_incremental_exact_and_isolated(orgs, destination, tmp_path, capsys,
                                                                      monkeypatch, request):
    dsn = None
    if destination == "postgres":
        dsn = request.getfixturevalue("pg_database")
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", dsn)
    argv = [*RUN, "--destination", destination, "--state-dir", str(tmp_path / "st")]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == [f"tenant {n}" for n in TENANTS] + ["dbt"]
    assert all(" success -> " in line for line in out.splitlines()[:3])
    for name, sim in orgs.items():  # every org was asked with its own `source`, never another's
        assert {r.params.get("source") for r in sim.requests()} == {f"src-{name}"}
    _assert_exact(orgs, destination, tmp_path, dsn)
    assert (tmp_path / "st" / "litmos__acme").is_dir() and not (tmp_path / "st" / "litmos").exists()

    for sim in orgs.values():
        assert sum(sim.advance(dt.timedelta(hours=30)).values()) > 0
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    _assert_exact(orgs, destination, tmp_path, dsn)
    creds = dsn or str(tmp_path / "w.duckdb")
    with open_warehouse(destination, creds) as wh:
        for name in TENANTS:
            runs = run_history.history(wh, f"litmos_raw__{name}")
            assert len({r["run_id"] for r in runs}) == 2 and {r["status"] for r in runs} == {"success"}
    for text in (out, err):
        assert not any(key in text for key in KEYS.values())


def test_wrong_key_fails_its_tenant_alone(orgs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__TENANTS__BETA__API_KEY", "sk-wrong-key-987654321")
    code, out, err = _run([*RUN, "--resources", "users,teams", "--state-dir", str(tmp_path / "st")], capsys)
    assert code == 1
    (line,) = [line for line in err.splitlines() if " ERROR " in line or line.startswith("litmos-sync: ")]
    assert line.startswith("litmos-sync: error: tenant beta failed: ")
    assert "SOURCES__LITMOS__TENANTS__BETA__API_KEY" in line and "sk-wrong" not in line
    assert "tenant beta: failed" in out and out.count(" success -> ") == 2
    conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        for name in ("acme", "gamma_eu"):
            assert diff_all(orgs[name], conn, f"litmos_raw__{name}", tables=["users", "teams"]) == []
    finally:
        conn.close()
    with open_warehouse("duckdb", str(tmp_path / "w.duckdb")) as wh:
        rows = run_history.history(wh, "litmos_raw__beta")
        assert {r["status"] for r in rows} == {"failed"}
        assert {r["error"] for r in rows} == {line.removeprefix("litmos-sync: error: tenant beta failed: ")}
        assert not wh.table_exists("litmos_raw__beta", "users")

    code, out, err = _run(["tenants"], capsys)
    assert code == 0, err
    table = {line.split()[0]: line.split() for line in out.splitlines()[1:] if not line.startswith("  ")}
    assert set(table) == set(TENANTS)
    assert table["beta"][1] == "litmos_raw__beta" and table["beta"][4] == "failed"
    assert table["acme"][4] == "success" and table["acme"][-1] == orgs["acme"].base_url
    assert not any(key in out for key in KEYS.values())

    code, out, err = _run(["status", "--tenant", "acme", "--state-dir", str(tmp_path / "st"), "--format", "json"],
                          capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert {(r["tenant"], r["dataset"], r["resource"]) for r in doc} == {
        ("acme", "litmos_raw__acme", "users"), ("acme", "litmos_raw__acme", "teams")}
    assert {r["last_status"] for r in doc} == {"success"}


def test_one_tenant_runs_in_process_and_the_others_stay_untouched(orgs, tmp_path, capsys):
    code, out, err = _run([*RUN, "--tenant", "gamma_eu", "--resources", "teams", "--state-dir",
                           str(tmp_path / "st")], capsys)
    assert code == 0, err
    assert out.splitlines()[0].endswith("dataset litmos_raw__gamma_eu")
    assert orgs["acme"].requests() == [] and orgs["beta"].requests() == []
    with open_warehouse("duckdb", str(tmp_path / "w.duckdb")) as wh:
        assert wh.table_exists("litmos_raw__gamma_eu", "teams")
        assert not wh.table_exists("litmos_raw__acme", "teams")


@pytest.mark.parametrize("argv, message", [
    (["--tenant", "acme,zeta"], "unknown tenant(s) zeta; configured: acme, beta, gamma_eu"),
    (["--tenant", "acme", "--all-tenants"], "--tenant and --all-tenants exclude each other; give one of them"),
    (["--parallel", "0"], "--parallel 0 must be at least 1, e.g. --parallel 4"),
    (["--dataset", "d" * 46], f"dataset '{'d' * 46}__gamma_eu' of tenant gamma_eu is 56 characters; Postgres "
     "allows 63 and dlt adds _staging for merges, so at most 55: use a shorter tenant name or --dataset"),
])
def test_bad_tenant_input_is_one_line_before_any_request(orgs, capsys, argv, message):
    code, out, err = _run([*RUN, *argv], capsys)
    assert (code, out, err) == (2, "", f"litmos-sync: error: {message}\n")
    assert all(sim.requests() == [] for sim in orgs.values())
