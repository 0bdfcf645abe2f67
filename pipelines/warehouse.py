"""The CLI's own connection to the warehouse: the marts for the report, row counts for status and demo.

dlt owns the raw tables and the run history (pipelines/run_history.py), dbt owns the marts; this module
opens DuckDB or Postgres with one-line, key-free messages for the failures users meet (a locked file, an
unwritable directory, a refused login) and runs plain queries in the driver's own parameter style.
"""
from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from pipelines import destination as dest
from pipelines import duckdb_lock
from pipelines.config import ConfigError


class Warehouse:
    """An open connection to the DuckDB file or Postgres database the pipeline loads into.

    Args:
        destination: "duckdb" or "postgres".
        credentials: DuckDB file path or Postgres DSN.
        read_only: Open DuckDB read-only (report/status must not block a running load needlessly).
    """

    def __init__(self, destination: str, credentials: str, read_only: bool = False) -> None:
        self.destination, self.credentials = destination, credentials
        self._locked: str | None = None
        if destination == "duckdb":
            import duckdb  # noqa: PLC0415

            if read_only and not os.path.exists(credentials):
                raise ConfigError(
                    f"DuckDB file {credentials!r} does not exist; run `litmos-sync run` first or set "
                    "DESTINATION__DUCKDB__CREDENTIALS to the file you loaded"
                )
            # Our other processes (the tenants of a parallel run) take turns on the file: wait for ours.
            duckdb_lock.acquire(credentials)
            self._locked = credentials
            try:
                try:
                    self.connection = duckdb.connect(credentials, read_only=read_only)
                except duckdb.ConnectionException:
                    # This process already holds the file read-write (dlt/dbt just wrote it) and DuckDB
                    # refuses a second instance with other settings: share the existing one.
                    self.connection = duckdb.connect(credentials)
            except duckdb.IOException as exc:
                self._unlock()
                raise ConfigError(describe_duckdb_error(exc, credentials)) from None
            except BaseException:
                self._unlock()
                raise
        elif destination == "postgres":
            import psycopg2  # noqa: PLC0415

            try:
                self.connection = psycopg2.connect(credentials, connect_timeout=10)
            except psycopg2.Error as exc:
                # psycopg2 messages can echo the DSN's password; say only where it failed.
                raise ConfigError(describe_postgres_error(exc, credentials)) from None
            self.connection.autocommit = True
        else:  # pragma: no cover - validated earlier
            raise ConfigError(f"unknown destination {destination!r}; use duckdb or postgres")

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing."""
        self.query(sql, fetch=False)

    def query(self, sql: str, params: Sequence[Any] = (), fetch: bool = True) -> list[dict[str, Any]]:
        """Run a query (parameters in the driver's style: ``?`` DuckDB, ``%s`` Postgres); rows as dicts."""
        cur = self.connection.cursor()
        try:
            cur.execute(sql, tuple(params) or None)
            names = [d[0] for d in cur.description or ()] if fetch else []
            return [dict(zip(names, row)) for row in cur.fetchall()] if names else []
        finally:
            cur.close()

    def columns(self, schema: str, table: str) -> list[str]:
        """Column names of `schema.table` in ordinal order (empty if missing)."""
        rows = self.query(
            f"SELECT column_name FROM information_schema.columns WHERE table_schema = {quote_literal(schema)} "
            f"AND table_name = {quote_literal(table)} ORDER BY ordinal_position")
        return [r["column_name"] for r in rows]

    def table_exists(self, schema: str, table: str) -> bool:
        """True when `schema.table` exists (table or view)."""
        return bool(self.columns(schema, table))

    def close(self) -> None:
        """Close the connection (releases the DuckDB file and its ``.lock``)."""
        try:
            self.connection.close()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._locked is not None:
            duckdb_lock.release(self._locked)
            self._locked = None


@contextmanager
def open_warehouse(destination: str, credentials: str, read_only: bool = False) -> Iterator[Warehouse]:
    """Context manager around :class:`Warehouse` that always closes the connection."""
    wh = Warehouse(destination, credentials, read_only=read_only)
    try:
        yield wh
    finally:
        wh.close()


def check_destination(destination: str, credentials: str) -> None:
    """Fail fast, before any API request, when the warehouse cannot be written.

    DuckDB: the file's directory must exist and be writable, and no other process may hold the file.
    Postgres: the server must accept a connection with these credentials. Raises `ConfigError` (exit 2)
    with one line naming the fix (the messages of docs/troubleshooting.md).
    """
    if destination == "duckdb":
        path = dest.duckdb_path(credentials)
        if path in ("", ":memory:"):
            return
        directory = os.path.dirname(os.path.abspath(path))
        problem = _directory_problem(path, directory)
        if problem:
            raise ConfigError(problem)
        if os.path.exists(path) and not duckdb_lock.busy(path):
            # Takes (and drops) DuckDB's lock: says who holds it, if anyone. While another of our runs
            # writes the file (its .lock is taken) this run waits its turn at its first load instead.
            with open_warehouse("duckdb", path):
                pass
    elif destination == "postgres":
        with open_warehouse("postgres", credentials):
            pass


def describe_duckdb_error(exc: BaseException, path: str) -> str:
    """One line for a DuckDB file that cannot be opened, naming the fix."""
    text = _first_line(exc)
    path = dest.duckdb_path(path)
    if "lock" in text.lower():
        match = re.search(r"\(PID (\d+)\)", text)
        holder = f"another process (PID {match.group(1)})" if match else "another process"
        return (f"DuckDB file '{path}' is locked by {holder}; DuckDB allows one writer: wait for that run to "
                "finish or close the program holding the file (a BI tool, a notebook), then rerun")
    problem = _directory_problem(path, os.path.dirname(os.path.abspath(path)))
    if problem:
        return problem
    return (f"cannot open DuckDB file '{path}' ({text.removeprefix('IO Error: ')}); check the file, or set "
            "DESTINATION__DUCKDB__CREDENTIALS to another path")


def describe_postgres_error(exc: BaseException, dsn: str) -> str:
    """One line for a Postgres connection failure (never the password), naming the fix."""
    text = " ".join(str(exc).split())
    where = _pg_where(dsn, text)
    database = re.search(r'database "([^"]+)" does not exist', text)
    if database:
        return (f"Postgres database '{database.group(1)}' does not exist on {where}; create it (createdb "
                f"{database.group(1)}, or CREATE DATABASE as an admin) or fix the database name in "
                "DESTINATION__POSTGRES__CREDENTIALS")
    role = re.search(r'role "([^"]+)" does not exist', text)
    if role or "password authentication failed" in text or "no password supplied" in text \
            or "no pg_hba.conf entry" in text:
        user = role.group(1) if role else (_pg_part(dsn, "username") or "?")
        why = ("no such role" if role else "password rejected" if "password" in text
               else "not allowed by pg_hba.conf")
        return (f"Postgres on {where} rejected user '{user}' ({why}); fix the user and password in "
                "DESTINATION__POSTGRES__CREDENTIALS (postgresql://user:password@host:5432/db)")
    if "Connection refused" in text:
        return (f"Postgres at {where} refused the connection (is the server running?); start it or fix host "
                "and port in DESTINATION__POSTGRES__CREDENTIALS")
    if "could not translate host name" in text:
        return (f"Postgres host of {where} is unknown (DNS); fix the host in DESTINATION__POSTGRES__CREDENTIALS")
    if "timeout expired" in text:
        return (f"Postgres at {where} did not answer within 10 s; check host, port and firewall in "
                "DESTINATION__POSTGRES__CREDENTIALS")
    return (f"cannot connect to Postgres ({_pg_reason(exc)}); check DESTINATION__POSTGRES__CREDENTIALS "
            "and that the server is running")


def describe_warehouse_exception(exc: BaseException) -> str | None:
    """The one-line message for a DuckDB/Postgres error raised during a run (inside dlt or dbt), or None.

    Works from the exception alone: the file path and host:port are read from the driver's message.
    """
    module = type(exc).__module__ or ""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    if module.startswith(("duckdb", "_duckdb")) and name == "IOException":
        match = re.search(r'file "([^"]+)"', text)
        return describe_duckdb_error(exc, match.group(1)) if match else None
    if module.startswith("psycopg2"):
        if getattr(exc, "pgcode", None) == "42501" or name == "InsufficientPrivilege":
            return (f"Postgres refused a statement: {_first_line(exc)}; the job's role needs CREATE on the database "
                    "and on the schemas <dataset>, <dataset>_staging, litmos_staging, litmos_intermediate, "
                    "litmos_marts (GRANT CREATE ON DATABASE <db> TO <role>; see docs/troubleshooting.md)")
        if name == "OperationalError" and ("connection to server" in text or "could not translate" in text):
            return describe_postgres_error(exc, "")
    return None


def _directory_problem(path: str, directory: str) -> str | None:
    if not os.path.isdir(directory):
        return (f"the directory of DuckDB file '{path}' does not exist; create it (mkdir -p {directory}) or set "
                "DESTINATION__DUCKDB__CREDENTIALS to a file in an existing directory")
    if os.path.exists(path):
        return None
    try:  # os.access says yes to root even where nobody may write (read-only mounts, /sys)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return (f"cannot create DuckDB file '{path}': directory '{directory}' is not writable "
                f"({exc.strerror}); fix its permissions or set DESTINATION__DUCKDB__CREDENTIALS to a writable "
                "path")
    return None


def _pg_part(dsn: str, name: str) -> Any:
    try:
        return getattr(dest.postgres_credentials(dsn), name) if dsn else None
    except dest.CredentialsError:
        return None


def _pg_where(dsn: str, text: str = "") -> str:
    said = re.search(r'server at "([^"]+)"(?: \([^)]*\))?, port (\d+)', text)
    if not dsn and said:  # from the driver's own message
        return f"{said.group(1)}:{said.group(2)}"
    return f"{_pg_part(dsn, 'host') or 'localhost'}:{_pg_part(dsn, 'port') or 5432}"


def quote_ident(name: str) -> str:
    """Double-quote an SQL identifier (names come from validated config, this is belt and braces)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Single-quote an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _pg_reason(exc: BaseException) -> str:
    text = _first_line(exc)
    # Strip anything that looks like a connection string before showing it.
    return text.split(" dsn=")[0].split("postgresql://")[0].strip() or type(exc).__name__
