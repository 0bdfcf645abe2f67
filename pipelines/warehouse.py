"""A thin DB-API wrapper over DuckDB and Postgres for the CLI's own SQL (run history, status, report).

dlt owns the raw tables and dbt owns the marts; this module only runs small plain-SQL statements with one
placeholder style (`?`) on both engines so that callers do not care which warehouse they talk to.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from pipelines.config import ConfigError


class Warehouse:
    """An open connection to the DuckDB file or Postgres database the pipeline loads into.

    Args:
        destination: "duckdb" or "postgres".
        credentials: DuckDB file path or Postgres DSN.
        read_only: Open DuckDB read-only (report/status must not block a running load needlessly).
    """

    def __init__(self, destination: str, credentials: str, read_only: bool = False) -> None:
        self.destination = destination
        if destination == "duckdb":
            import duckdb  # noqa: PLC0415

            if read_only and not os.path.exists(credentials):
                raise ConfigError(
                    f"DuckDB file {credentials!r} does not exist; run `litmos-sync run` first or set "
                    "DESTINATION__DUCKDB__CREDENTIALS to the file you loaded"
                )
            try:
                try:
                    self._conn = duckdb.connect(credentials, read_only=read_only)
                except duckdb.ConnectionException:
                    # This process already holds the file read-write (dlt/dbt just wrote it) and DuckDB
                    # refuses a second instance with other settings: share the existing one.
                    self._conn = duckdb.connect(credentials)
            except duckdb.IOException as exc:
                raise ConfigError(
                    f"cannot open DuckDB file {credentials!r} ({_first_line(exc)}); another process may "
                    "hold it: wait for it to finish or point DESTINATION__DUCKDB__CREDENTIALS elsewhere"
                ) from None
        elif destination == "postgres":
            import psycopg2  # noqa: PLC0415

            try:
                self._conn = psycopg2.connect(credentials, connect_timeout=10)
            except psycopg2.Error as exc:
                # psycopg2 messages can echo the DSN's password; say only where it failed.
                raise ConfigError(
                    f"cannot connect to Postgres ({_pg_reason(exc)}); check DESTINATION__POSTGRES__CREDENTIALS "
                    "and that the server is running"
                ) from None
            self._conn.autocommit = True
        else:  # pragma: no cover - validated earlier
            raise ConfigError(f"unknown destination {destination!r}; use duckdb or postgres")

    def _sql(self, sql: str) -> str:
        # One placeholder style for callers; psycopg2 wants %s (and literal % doubled).
        if self.destination == "postgres":
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement that returns nothing."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows."""
        if not rows:
            return
        cur = self._conn.cursor()
        try:
            cur.executemany(self._sql(sql), [tuple(r) for r in rows])
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts keyed by column name."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            cur.close()

    def table_exists(self, schema: str, table: str) -> bool:
        """True when `schema.table` exists (table or view)."""
        rows = self.query(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (schema, table),
        )
        return bool(rows and rows[0]["n"])

    def columns(self, schema: str, table: str) -> list[str]:
        """Column names of `schema.table` in ordinal order (empty if missing)."""
        rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            (schema, table),
        )
        return [r["column_name"] for r in rows]

    def close(self) -> None:
        """Close the connection (releases the DuckDB file lock)."""
        self._conn.close()


@contextmanager
def open_warehouse(destination: str, credentials: str, read_only: bool = False) -> Iterator[Warehouse]:
    """Context manager around :class:`Warehouse` that always closes the connection."""
    wh = Warehouse(destination, credentials, read_only=read_only)
    try:
        yield wh
    finally:
        wh.close()


def quote_ident(name: str) -> str:
    """Double-quote an SQL identifier (names come from validated config, this is belt and braces)."""
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _pg_reason(exc: BaseException) -> str:
    text = _first_line(exc)
    # Strip anything that looks like a connection string before showing it.
    return text.split(" dsn=")[0].split("postgresql://")[0].strip() or type(exc).__name__
