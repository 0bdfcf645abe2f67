"""The CLI's own connection to the warehouse (report, status, run history), and the one-line, key-free
messages for the failures users meet there: a locked file, an unwritable directory, a refused login.
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
    """An open connection to the DuckDB file (`read_only`: for report/status) or Postgres database."""

    def __init__(self, destination: str, credentials: str, read_only: bool = False) -> None:
        self.destination, self.credentials = destination, credentials
        self._locked: str | None = None
        if destination == "duckdb":
            import duckdb  # noqa: PLC0415

            if read_only and not os.path.exists(credentials):
                raise ConfigError(f"DuckDB file {credentials!r} does not exist; run `litmos-sync run` first or set "
                                  "DESTINATION__DUCKDB__CREDENTIALS to the file you loaded")
            # Our other processes (the tenants of a parallel run) take turns on the file: wait for ours.
            duckdb_lock.acquire(credentials)
            self._locked = credentials
            try:
                try:
                    self.connection = duckdb.connect(credentials, read_only=read_only)
                except duckdb.ConnectionException:  # this process has it open read-write (dlt, dbt): share it
                    self.connection = duckdb.connect(credentials)
            except BaseException as exc:
                self._unlock()
                if isinstance(exc, duckdb.IOException):
                    raise ConfigError(describe_duckdb_error(exc, credentials)) from None
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
        """Runs a statement that returns nothing."""
        self.query(sql, fetch=False)

    def query(self, sql: str, params: Sequence[Any] = (), fetch: bool = True) -> list[dict[str, Any]]:
        """Runs a query (parameters in the driver's style: ``?`` DuckDB, ``%s`` Postgres); rows as dicts."""
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

    def count_rows(self, schema: str, table: str) -> int | None:
        """Rows in `schema.table`, None when it does not exist."""
        if not self.table_exists(schema, table):
            return None
        return int(self.query(f"SELECT count(*) AS n FROM {quote_ident(schema)}.{quote_ident(table)}")[0]["n"])

    def close(self) -> None:
        """Closes the connection (releases the DuckDB file and its ``.lock``)."""
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
    """Raises `ConfigError` (exit 2) before any API request when the warehouse cannot be written: a DuckDB
    file in a missing or unwritable directory or held by another process, a Postgres that refuses us."""
    if destination == "duckdb":
        path = dest.duckdb_path(credentials)
        if path in ("", ":memory:"):
            return
        problem = _directory_problem(path)
        if problem:
            raise ConfigError(problem)
        if os.path.exists(path) and not duckdb_lock.busy(path):  # our other runs: wait for the turn instead
            Warehouse("duckdb", path).close()  # says who holds DuckDB's own lock, if anyone
    elif destination == "postgres":
        Warehouse("postgres", credentials).close()


def describe_duckdb_error(exc: BaseException, path: str) -> str:
    """One line for a DuckDB file that cannot be opened, naming the fix."""
    text = _first_line(exc)
    path = dest.duckdb_path(path)
    if "lock" in text.lower():
        match = re.search(r"\(PID (\d+)\)", text)
        holder = f"another process (PID {match.group(1)})" if match else "another process"
        return (f"DuckDB file '{path}' is locked by {holder}; DuckDB allows one writer: wait for that run to "
                "finish or close the program holding the file (a BI tool, a notebook), then rerun")
    return _directory_problem(path) or (f"cannot open DuckDB file '{path}' ({text.removeprefix('IO Error: ')}); "
                                        "check the file, or set DESTINATION__DUCKDB__CREDENTIALS to another path")


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
        user = role.group(1) if role else (getattr(_pg(dsn), "username", None) or "?")
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
    """The one-line message for a DuckDB/Postgres error raised inside dlt or dbt, or None (the path and
    host:port are read from the driver's message)."""
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


def _directory_problem(path: str) -> str | None:
    directory = os.path.dirname(os.path.abspath(path))
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


def _pg(dsn: str) -> Any:
    try:
        return dest.postgres_credentials(dsn) if dsn else None
    except dest.CredentialsError:
        return None


def _pg_where(dsn: str, text: str = "") -> str:
    said = re.search(r'server at "([^"]+)"(?: \([^)]*\))?, port (\d+)', text)
    if not dsn and said:  # from the driver's own message
        return f"{said.group(1)}:{said.group(2)}"
    return f"{getattr(_pg(dsn), 'host', None) or 'localhost'}:{getattr(_pg(dsn), 'port', None) or 5432}"


def quote_ident(name: str) -> str:
    """Double-quotes an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Single-quotes an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _pg_reason(exc: BaseException) -> str:
    text = _first_line(exc)  # without anything that looks like a connection string
    return text.split(" dsn=")[0].split("postgresql://")[0].strip() or type(exc).__name__
