"""Validated run configuration for litmos-sync: dates, resources, destinations, credentials, secrets.

Everything here runs before the first HTTP request so that a typo fails in milliseconds with a one-line
message instead of an hour into a backfill. Config is read the dlt way (env vars, `.dlt/config.toml`,
`.dlt/secrets.toml`), see docs/configuration.md.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from sources.litmos.budget import DEFAULT_REQUESTS_PER_MINUTE  # noqa: F401 - the CLI's default
from sources.litmos.exceptions import LitmosConfigError
from sources.litmos.settings import ENDPOINTS

DESTINATIONS = ("duckdb", "postgres")
DEFAULT_DATASET = "litmos_raw"
DEFAULT_DUCKDB_PATH = "litmos.duckdb"
DEFAULT_STATE_DIR = "state"
MARTS_SCHEMA = "litmos_marts"
DEFAULT_SOURCE_NAME = "litmos-sync"

#: Regional API hosts (from the vendor's help pages); any other URL works too.
REGION_BASE_URLS = {
    "us": "https://api.litmos.com/v1.svc",
    "eu": "https://api.litmoseu.com/v1.svc",
    "au": "https://api.litmos.com.au/v1.svc",
}

_DATASET_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


ConfigError = LitmosConfigError
"""Bad user input or missing configuration (one line saying what and how to fix): the source's own
:class:`~sources.litmos.exceptions.LitmosConfigError`, so the CLI and the sync share one error root."""


DEFAULT_TENANT = "default"
"""Tenant name of a single-org setup (today's `SOURCES__LITMOS__API_KEY` settings, dataset `litmos_raw`)."""


def schema_prefix(dataset: str = DEFAULT_DATASET) -> str:
    """Prefix of the dbt schemas built from a raw dataset: `litmos_raw` -> `litmos` (`litmos_staging`,
    `litmos_intermediate`, `litmos_marts`); `dev_raw` -> `dev`; a name without `_raw` is used whole."""
    return dataset[: -len("_raw")] if dataset.endswith("_raw") and len(dataset) > len("_raw") else dataset


def marts_schema(dataset: str = DEFAULT_DATASET) -> str:
    """Schema of the marts built from `dataset` (and its tenants' datasets): `litmos_raw` -> `litmos_marts`."""
    return f"{schema_prefix(dataset)}_marts"


def tenant_dataset(dataset: str, tenant: str) -> str:
    """Raw dataset of one tenant of a many-org setup: `litmos_raw`, `acme` -> `litmos_raw__acme`; the
    single-org tenant keeps `dataset` itself, so a warehouse from before tenants upgrades in place."""
    return dataset if tenant == DEFAULT_TENANT else f"{dataset}__{tenant}"


def known_resources() -> tuple[str, ...]:
    """Names of every resource (= raw table) the source can load, in the endpoint table's order."""
    return tuple(ENDPOINTS)


def parse_date(value: str | None, option: str) -> dt.date | None:
    """Parse a `YYYY-MM-DD` option value.

    Args:
        value: The raw string or None.
        option: The option name for the error message, e.g. "--start-date".

    Returns:
        The date, or None when `value` is None/empty.

    Raises:
        ConfigError: The value is not a real calendar date in `YYYY-MM-DD` form.
    """
    if value is None or value == "":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ConfigError(f"{option} {value!r} is not a date; use YYYY-MM-DD, e.g. {option} 2025-01-31")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a real calendar date; use YYYY-MM-DD") from None


def parse_history_start(value: str | None) -> dt.date | str | None:
    """Parse `--history-start`: a `YYYY-MM-DD` date, `auto` (discover it), or None (the sync's parser).

    Raises:
        ConfigError: Neither a date nor `auto`.
    """
    from pipelines.sync_options import AUTO, as_date, parse_history_start as parse  # noqa: PLC0415

    parsed = parse(value)
    return "auto" if parsed is AUTO else as_date(parsed)


def parse_resync(value: str | Sequence[str] | None, end_date: dt.date | None = None) -> list[str] | None:
    """Parse `--resync a,b` (or `all`) into table names, with the sync's own checks.

    The sync expands `all` and checks the names against the resources it reads.

    Raises:
        ConfigError: An unknown table, one without dates, or a re-sync with an `end_date`.
    """
    from pipelines.sync_options import raise_resync_with_end_date, select_resync  # noqa: PLC0415

    if not value:
        return None
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value) if n and n.strip()]
    if end_date is not None:
        raise_resync_with_end_date()
    return ["all"] if names == ["all"] else select_resync(names, list(known_resources())) or None


def parse_resources(value: str | Sequence[str] | None) -> list[str] | None:
    """Parse `--resources a,b` into a de-duplicated list of known resource names (None = all).

    Raises:
        ConfigError: A name is not a known resource; the message lists the valid names.
    """
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [item.strip() for item in items if item and item.strip()]
    if not names:
        raise ConfigError("--resources is empty; give a comma-separated list such as users,course_results")
    known = known_resources()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"unknown resource(s) {', '.join(unknown)}; choose from: {', '.join(known)}"
        )
    return list(dict.fromkeys(names))


def validate_destination(value: str) -> str:
    """Return the destination name if supported.

    Raises:
        ConfigError: The destination is not duckdb or postgres.
    """
    if value not in DESTINATIONS:
        raise ConfigError(f"unknown destination {value!r}; use --destination duckdb or --destination postgres")
    return value


def validate_dataset(value: str) -> str:
    """Return the dataset (schema) name if it is a plain SQL identifier.

    Raises:
        ConfigError: The name contains characters a schema name cannot have.
    """
    if not _DATASET_RE.match(value or ""):
        raise ConfigError(
            f"dataset name {value!r} is not valid; use letters, digits and underscores, e.g. litmos_raw"
        )
    return value


def _config_value(*keys: str) -> Any:
    """First value found for any of the dlt config keys (env, .dlt/config.toml, .dlt/secrets.toml)."""
    import dlt  # noqa: PLC0415 - dlt import is slow, keep `--help` fast

    for key in keys:
        for provider in (dlt.secrets, dlt.config):
            try:
                value = provider.get(key)
            except Exception:  # a malformed toml must not hide an env var
                value = None
            if value not in (None, ""):
                return value
    return None


def check_source_settings(api: ApiSettings | None = None, **given: Any) -> None:
    """Checks the ``[sources.litmos]`` settings the sync reads, with the sync's own validators, before any
    request.

    Args:
        api: :func:`resolve_api_settings`'s result (the connection settings are checked there).
        **given: Settings the command line gives (``history_start``, ``collection_refresh_days``...),
            checked instead of the configured ones; None = not given.

    Raises:
        ConfigError: A value is malformed.
    """
    from pipelines.sync_options import sync_options  # noqa: PLC0415

    api = api or ApiSettings(REGION_BASE_URLS["us"], DEFAULT_SOURCE_NAME, api_key="checked by resolve_api_settings")
    sync_options(resources=None, start_date=None, end_date=None, lookback_days=1, response_format="xml",
                 auth_in_query=False, requests_per_minute=0, api_key=api.api_key, base_url=api.base_url,
                 source=api.source_name, **given)


def resolve_credentials(destination: str) -> str:
    """The destination's credentials the dlt way: a DuckDB file path or a Postgres DSN.

    DuckDB: `DESTINATION__DUCKDB__CREDENTIALS`, default `litmos.duckdb` in the working directory.
    Postgres: `DESTINATION__POSTGRES__CREDENTIALS` as a DSN (or the dlt toml table form).

    Raises:
        ConfigError: Postgres is chosen and no DSN is configured.
    """
    from pipelines import destination as dest  # noqa: PLC0415 - imports dlt

    value = _config_value(f"destination.{destination}.credentials")
    if destination == "duckdb":
        path = dest.duckdb_path(value.get("database") if isinstance(value, Mapping) else value)
        # Absolute, so dlt, dbt and the run history all open the same file whatever their cwd.
        return os.path.abspath(os.path.expanduser(path or dest.DEFAULT_DUCKDB_PATH))
    if isinstance(value, Mapping):
        value = dest.postgres_credentials(value).to_native_representation()
    if not value:
        raise ConfigError(
            "no Postgres credentials; set DESTINATION__POSTGRES__CREDENTIALS="
            "postgresql://user:password@host:5432/database (or destination.postgres.credentials in "
            ".dlt/secrets.toml)"
        )
    return str(value)


@dataclass(frozen=True)
class ApiSettings:
    """Litmos connection settings read from dlt config; `api_key` is excluded from repr on purpose."""

    base_url: str
    source_name: str
    api_key: str = field(repr=False)


def resolve_api_settings(api_key: str | None = None, base_url: str | None = None,
                         source_name: str | None = None) -> ApiSettings:
    """Read and check the API key, base URL and `source` name before any request is made.

    Args:
        api_key: Explicit key (tests, demo); else `SOURCES__LITMOS__API_KEY` / secrets.toml.
        base_url: Explicit URL; else `SOURCES__LITMOS__BASE_URL`, default the US host.
        source_name: Explicit `source` parameter; else `SOURCES__LITMOS__SOURCE`, default "litmos-sync".

    Raises:
        ConfigError: The key is missing, or a value is malformed.
    """
    from pipelines.sync_options import configured  # noqa: PLC0415 - dlt injects sources.litmos.*

    given = configured()
    key = api_key or given.get("api_key")
    if not key:
        raise ConfigError(
            "no Litmos API key; set SOURCES__LITMOS__API_KEY (or api_key under [sources.litmos] in "
            ".dlt/secrets.toml); find it in Litmos under My Profile & Settings"
        )
    url = str(base_url or given.get("base_url") or REGION_BASE_URLS["us"]).strip()
    if url.lower() in REGION_BASE_URLS:  # a bare region name is accepted as a shortcut
        url = REGION_BASE_URLS[url.lower()]
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(
            f"base URL {url!r} is not a URL; set SOURCES__LITMOS__BASE_URL to e.g. "
            f"{REGION_BASE_URLS['eu']} (or us/eu/au)"
        )
    # `source` is required by the API but any short name works; default to the product's name.
    source = str(source_name or given.get("source") or DEFAULT_SOURCE_NAME).strip()
    if len(source) > 50:
        raise ConfigError(f"SOURCES__LITMOS__SOURCE is {len(source)} characters; Litmos allows at most 50")
    return ApiSettings(base_url=url.rstrip("/"), source_name=source, api_key=str(key))


def validate_window(start: dt.date | None, end: dt.date | None) -> None:
    """Check a `--start-date`/`--end-date` pair.

    Raises:
        ConfigError: end is before start.
    """
    if start and end and end < start:
        raise ConfigError(
            f"--end-date {end.isoformat()} is before --start-date {start.isoformat()}; swap them or "
            "pick a later end date"
        )


def validate_requests_per_minute(value: int) -> int:
    """Requests per minute must be >= 0 (0 = unlimited, only sensible against the simulator).

    Raises:
        ConfigError: Negative value.
    """
    if value < 0:
        raise ConfigError(
            f"--requests-per-minute {value} is negative; use 1..100 (Litmos allows 100/min) or 0 for unlimited"
        )
    return value
