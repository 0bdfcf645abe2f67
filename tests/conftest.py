"""Fixtures shared by every test folder.

Postgres tests never skip: when the server is unreachable they fail with a message saying how to start
it, because CI must prove both warehouses.
"""
from __future__ import annotations

import os
import uuid

import pytest

PG_DSN = os.environ.get("LITMOS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


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
