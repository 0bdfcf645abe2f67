"""Fixtures shared by every test folder.

Postgres tests never skip: when the server is unreachable they fail with a message saying how to start
it, because CI must prove both warehouses.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

PG_DSN = os.environ.get("LITMOS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
# Each test worker (pytest-xdist) gives dbt its own target dir (pipelines.dbt_runner.target_dir): the
# workers' dbt builds then run at the same time instead of taking turns on dbt_models/target. Subprocesses
# (the CLI, the orchestrators) inherit it.
os.environ["DBT_TARGET_PATH"] = str(Path(__file__).resolve().parent.parent / "dbt_models" / "target"
                                    / f"tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
CHROMIUM_INSTALL = "sudo apt-get install -y chromium"
"""What a developer runs for the browser tests (scripts/test.sh does it itself when running as root)."""


def chromium_path() -> str | None:
    """Headless Chromium for the report rendering tests: $CHROMIUM, or chromium / chromium-browser on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    return None


# The soak tests: kill/resume loops (over a minute of repeated kill -9 and reruns) and many simulated
# nights in a row. `make test` leaves them out for speed; CI runs them (LITMOS_TEST_ALL=1, see
# scripts/test.sh). Marked here (a file or a test id) so their files stay as their owners wrote them.
SOAK = (
    "tests/source/test_kill_resume.py",
    "tests/source/test_state_growth.py::test_state_dir_stays_flat_over_nights",
    "tests/source/test_state_growth.py::test_pruning_keeps_load_loaded_flat_and_the_data_exact",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.nodeid == s or item.nodeid.startswith(s + ("::" if ".py" in s[-3:] else "[")) for s in SOAK):
            item.add_marker(pytest.mark.soak)
            item.add_marker(pytest.mark.slow)


def pytest_runtest_setup(item):
    # Browser tests are skipped with the install command, never a traceback, where Chromium is missing.
    if item.get_closest_marker("browser") and chromium_path() is None:
        message = f"chromium is not installed; install it with: {CHROMIUM_INSTALL}"
        if os.environ.get("LITMOS_TEST_REQUIRE_CHROMIUM") == "1":  # CI must prove the report renders
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _pg_connect(dsn: str):
    import psycopg2

    try:
        return psycopg2.connect(dsn, connect_timeout=5)
    except psycopg2.OperationalError as exc:  # pragma: no cover - only when the server is down
        pytest.fail(
            f"PostgreSQL is not reachable at {dsn} ({str(exc).strip().splitlines()[0]}); start it "
            "(pg_ctlcluster <version> main start) or set LITMOS_TEST_PG_DSN",
            pytrace=False,
        )


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database for one test; yields its DSN and drops it afterwards."""
    name = f"litmos_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_connect(PG_DSN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_DSN.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def duckdb_path(tmp_path):
    """Path of a not-yet-existing DuckDB file in the test's temp dir."""
    return str(tmp_path / "warehouse.duckdb")
