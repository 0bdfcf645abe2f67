"""Orchestrator tests: the real Dagster and Airflow, each from its own venv, against simulated orgs.

The simulators run in this (the core's) pytest process; the orchestrator runs as a subprocess of its venv
(.venv-dagster, .venv-airflow from scripts/bootstrap.sh dagster|airflow) and reaches them through the
tenants' environment variables. A missing venv skips with the bootstrap command, but fails in CI
(LITMOS_TEST_ALL=1). Under scripts/test.sh the venvs install in the background: the tests wait for
`.venv-<extra>.rc` and fail with the log's tail when the install failed.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import time

import pytest

from litmos_sim.pytest_fixtures import make_litmos_sim  # noqa: F401 - fixture

ROOT = pathlib.Path(__file__).resolve().parents[2]
INSTALL_WAIT_S = 900  # two cold pip installs in parallel with the suite; normally about a minute


def _wait_for_background_install(extra: str, root: pathlib.Path) -> None:
    """Under scripts/test.sh: block until its background `bootstrap.sh <extra>` has finished."""
    rc_file = root / f".venv-{extra}.rc"
    log = root / f".venv-{extra}.bootstrap.log"
    deadline = time.monotonic() + INSTALL_WAIT_S
    while not rc_file.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"scripts/bootstrap.sh {extra} (started by scripts/test.sh) did not finish in "
                        f"{INSTALL_WAIT_S} s; its log: {log}", pytrace=False)
        time.sleep(1)  # polling a file another process writes: there is nothing to wait on
    rc = rc_file.read_text().strip()
    if rc != "0":
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else "(no log)"
        pytest.fail(f"scripts/bootstrap.sh {extra} failed (exit {rc}); log {log}:\n{tail}", pytrace=False)


def orchestrator_venv(extra: str, root: pathlib.Path = ROOT) -> pathlib.Path:
    """The bin/ dir of .venv-<extra>, installed and stamped by scripts/bootstrap.sh <extra>."""
    if os.environ.get("LITMOS_TEST_EXTRAS_BACKGROUND") == "1":
        _wait_for_background_install(extra, root)
    venv = root / f".venv-{extra}"
    if not list(venv.glob(".installed-*")) or not (venv / "bin" / "python").exists():
        message = f"{venv.name} is not installed; run: scripts/bootstrap.sh {extra}"
        if os.environ.get("LITMOS_TEST_ALL") == "1":  # CI proves the orchestrators run
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return venv / "bin"


def tenant_env(sims: dict, base: dict[str, str]) -> dict[str, str]:
    """The subprocess's environment: the tenants' keys and URLs (one simulator each), no single-org key."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOURCES__LITMOS__", "DESTINATION__", "LITMOS_", "VIRTUAL_ENV", "PYTHONPATH"))}
    for name, sim in sims.items():
        prefix = f"SOURCES__LITMOS__TENANTS__{name.upper()}__"
        env[prefix + "API_KEY"] = sim.config.api_key
        env[prefix + "BASE_URL"] = sim.base_url
        env[prefix + "SOURCE"] = f"deploy-test-{name}"
    env["LITMOS_REQUESTS_PER_MINUTE"] = "0"
    env["PYTHONWARNINGS"] = "ignore"
    return {**env, **base}


def run(argv: list, env: dict, cwd: pathlib.Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run one orchestrator command; on failure the assertion shows its output's tail."""
    done = subprocess.run([str(a) for a in argv], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{argv[:4]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def connect(destination: str, credentials: str):
    """A DB-API connection to the warehouse the orchestrator loaded (DuckDB read-only)."""
    if destination == "duckdb":
        import duckdb  # noqa: PLC0415

        return duckdb.connect(credentials, read_only=True)
    import psycopg2  # noqa: PLC0415

    return psycopg2.connect(credentials)


def marts_users_per_tenant(conn, sims: dict) -> tuple[dict, dict]:
    """(users in litmos_marts.dim_users per tenant, the orgs' truth). Until the marts carry a `tenant`
    column (issue 15: dbt_runner.build_marts(tenants=...)) they hold the first tenant's org alone."""
    from sources.litmos.settings import ENDPOINTS  # noqa: PLC0415

    truth = {name: len(sim.ground_truth(ENDPOINTS["users"].path)) for name, sim in sims.items()}
    cur = conn.cursor()
    cur.execute("select * from litmos_marts.dim_users where 1 = 0")
    if "tenant" in [d[0] for d in cur.description]:
        cur.execute("select tenant, count(*) from litmos_marts.dim_users group by tenant")
        return dict(cur.fetchall()), truth
    cur.execute("select count(*) from litmos_marts.dim_users")
    first = sorted(sims)[0]
    return {first: cur.fetchall()[0][0]}, {first: truth[first]}
