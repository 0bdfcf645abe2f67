"""Where the pipeline loads: the one parser of DuckDB paths and Postgres DSNs (dlt's credential classes)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sources.litmos.exceptions import LitmosConfigError

DEFAULT_DUCKDB_PATH = "litmos.duckdb"
BAD_DSN = ("Postgres credentials must be a URL DSN like postgresql://user:password@host:5432/dbname "
           "(got something else)")


class CredentialsError(LitmosConfigError):
    """Credentials that cannot be parsed; the message never quotes them (they may hold a password)."""


def duckdb_path(credentials: Any) -> str:
    """The DuckDB file of a path, a ``duckdb:///path`` URL or dlt's DuckDbCredentials, as given."""
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials  # noqa: PLC0415 - dlt is slow

    if hasattr(credentials, "database"):  # dlt's DuckDbCredentials
        return str(credentials.database or "")
    text = str(credentials or "")
    return str(DuckDbCredentials(text).database or "") if text else ""


def postgres_credentials(credentials: Any) -> Any:
    """dlt's PostgresCredentials from a DSN, a mapping (the toml table form) or credentials; no password
    becomes an empty one (dlt insists; libpq then uses trust/peer or ~/.pgpass). `CredentialsError` if bad."""
    from dlt.common.configuration.specs.exceptions import InvalidConnectionString  # noqa: PLC0415
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials  # noqa: PLC0415

    if isinstance(credentials, PostgresCredentials):
        return credentials
    parsed = PostgresCredentials()
    if isinstance(credentials, Mapping) or not isinstance(credentials, str):
        def pick(*names: str) -> Any:
            get = credentials.get if isinstance(credentials, Mapping) else lambda n: getattr(credentials, n, None)
            return next((get(n) for n in names if get(n) not in (None, "")), None)
        parsed.username, parsed.password = pick("username", "user") or "postgres", pick("password")
        parsed.host, parsed.port = pick("host") or "localhost", int(pick("port") or 5432)
        parsed.database = pick("database", "dbname")
    else:
        if not credentials.strip().startswith(("postgresql://", "postgres://")):
            raise CredentialsError(BAD_DSN)
        try:
            parsed.parse_native_representation(credentials.strip())
        except (InvalidConnectionString, ValueError):
            raise CredentialsError(BAD_DSN) from None
    if parsed.password is None:
        parsed.password = ""
    return parsed


def secrets(destination: str, credentials: Any) -> list[str]:
    """The Postgres password as written in a DSN and decoded, so both are redacted."""
    if destination != "postgres" or not credentials:
        return []
    try:
        password = postgres_credentials(credentials).password
    except CredentialsError:
        return []
    return list(dict.fromkeys([password, quote(password, safe="")])) if password else []


def display(destination: str, credentials: Any) -> str:
    """Credentials safe to print: the DuckDB path, or the DSN with ``***`` for its password."""
    if destination != "postgres":
        return duckdb_path(credentials)
    try:
        pg = postgres_credentials(credentials)
    except CredentialsError:
        return "(unparsable DSN)"
    auth = f"{pg.username}:***" if pg.password else pg.username
    return f"postgresql://{auth}@{pg.host}:{pg.port}/{pg.database or ''}"


def dlt_destination(destination: Any, credentials: Any = None, dataset: str | None = None) -> Any:
    """The dlt destination for ``duckdb``/``postgres`` (credentials None: dlt's config; an object: as is).

    dlt folds ``__`` to ``_`` in dataset names (``litmos_raw__acme`` -> ``litmos_raw_acme``, which another
    tenant could map to too), so a ``dataset`` holding ``__`` is used exactly as written.

    Raises:
        LitmosConfigError: An unknown destination or no Postgres credentials.
    """
    made = _destination(destination, credentials) if isinstance(destination, str) else destination
    params = getattr(made, "config_params", None)
    if dataset and "__" in dataset and isinstance(params, dict):
        params["enable_dataset_name_normalization"] = False
    return made


def _destination(destination: str, credentials: Any) -> Any:
    import dlt  # noqa: PLC0415

    if destination == "duckdb":
        credentials = credentials or dlt.secrets.get("destination.duckdb.credentials") or os.path.abspath(
            DEFAULT_DUCKDB_PATH)
        if not isinstance(credentials, str):  # dlt credentials or an open connection (shared)
            return dlt.destinations.duckdb(credentials=credentials)
        from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials  # noqa: PLC0415

        # DuckDB runs in this process: cap its buffer pool (it spills beyond) or the merges grow with the
        # warehouse; one thread and one load job, as 20 parallel jobs on 100MB failed "to pin block".
        duck = DuckDbCredentials(credentials)
        duck.global_config = {"memory_limit": str(setting("duckdb_memory_limit", "100MB")),
                              "threads": setting("duckdb_threads", 1)}
        return dlt.destinations.duckdb(credentials=duck, max_parallel_load_jobs=1)
    if destination == "postgres":
        credentials = credentials or dlt.secrets.get("destination.postgres.credentials")
        if not credentials:
            raise LitmosConfigError(
                "no Postgres DSN: set DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:pass@host:5432/db")
        pg = postgres_credentials(credentials)
        pg.resolve()
        return dlt.destinations.postgres(credentials=pg)
    raise LitmosConfigError(f"bad destination {destination!r}: use 'duckdb' or 'postgres'")


def setting(key: str, default: Any) -> Any:
    """``sources.litmos.<key>`` from dlt config, as the default's type."""
    import dlt  # noqa: PLC0415

    value = dlt.config.get(f"sources.litmos.{key}")
    if value is None:
        return default
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        raise LitmosConfigError(f"bad sources.litmos.{key} {value!r}: expected a {type(default).__name__}") from None
