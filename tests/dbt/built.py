"""A simulator org loaded by the real pipeline and built by dbt, in DuckDB or Postgres, for the test
modules of issue 16's managers and metrics (tests/dbt/test_managers.py, tests/dbt/test_metrics.py)."""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import psycopg2
import pytest

from pipelines.dbt_runner import build_marts
from pipelines.sync import sync

PG_DSN = os.environ.get("LITMOS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


class Warehouse:
    """A loaded and built warehouse plus a tiny query helper."""

    def __init__(self, destination: str, credentials: str, as_of: date, result):
        self.destination, self.credentials, self.as_of, self.result = destination, credentials, as_of, result

    def rows(self, sql: str) -> list[tuple]:
        if self.destination == "duckdb":
            with duckdb.connect(self.credentials, read_only=True) as con:
                return con.execute(sql).fetchall()
        with psycopg2.connect(self.credentials) as con, con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()


def load_and_build(sim, destination: str, credentials: str, state_dir: Path | str, as_of: date) -> Warehouse:
    sync(destination=destination, credentials=credentials, api_key=sim.api_key, base_url=sim.base_url,
         state_dir=str(state_dir), requests_per_minute=0)
    result = build_marts(destination, credentials, vars={"as_of_date": as_of.isoformat()}, quiet=True)
    return Warehouse(destination, credentials, as_of, result)


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new Postgres database (DSN) dropped afterwards."""
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
