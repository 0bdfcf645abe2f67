"""The CLI's checks of dates, resources, destinations, credentials and API settings, before any request.

A typo fails in milliseconds with a one-line message (`ConfigError`), not an hour into a backfill. Config
is read the dlt way (env vars, `.dlt/config.toml`, `.dlt/secrets.toml`), see docs/configuration.md.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from sources.litmos.budget import DEFAULT_REQUESTS_PER_MINUTE  # noqa: F401 - the CLI's default
from sources.litmos.exceptions import LitmosConfigError
from sources.litmos.settings import DEFAULT_BASE_URL, DEFAULT_SOURCE_NAME, ENDPOINTS

DESTINATIONS = ("duckdb", "postgres")
DEFAULT_DATASET = "litmos_raw"
DEFAULT_STATE_DIR = "state"
DEFAULT_TENANT = "default"  # the tenant of a single-org setup (SOURCES__LITMOS__API_KEY, dataset litmos_raw)
ConfigError = LitmosConfigError  # one error root for the CLI and the sync

# Regional API hosts (from the vendor's help pages); any other URL works too.
REGION_BASE_URLS = {"us": DEFAULT_BASE_URL, "eu": "https://api.litmoseu.com/v1.svc",
                    "au": "https://api.litmos.com.au/v1.svc"}

_DATASET_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def schema_prefix(dataset: str = DEFAULT_DATASET) -> str:
    """Prefix of the dbt schemas of a raw dataset: `litmos_raw` -> `litmos`; a name without `_raw` whole."""
    return dataset[: -len("_raw")] if dataset.endswith("_raw") and len(dataset) > len("_raw") else dataset


def marts_schema(dataset: str = DEFAULT_DATASET) -> str:
    """Schema of the marts built from `dataset`: `litmos_raw` -> `litmos_marts`."""
    return f"{schema_prefix(dataset)}_marts"


def tenant_dataset(dataset: str, tenant: str) -> str:
    """Raw dataset of one tenant: `litmos_raw`, `acme` -> `litmos_raw__acme`; the single org keeps `dataset`."""
    return dataset if tenant == DEFAULT_TENANT else f"{dataset}__{tenant}"


def known_resources() -> tuple[str, ...]:
    """Every resource (= raw table) the source can load, in the endpoint table's order."""
    return tuple(ENDPOINTS)


def parse_date(value: str | dt.date | None, option: str) -> dt.date | None:
    """A `YYYY-MM-DD` value (or date) of `option` (e.g. "--start-date"), None when empty; else `ConfigError`."""
    if not value or isinstance(value, dt.date):
        return value or None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ConfigError(f"{option} {value!r} is not a date; use YYYY-MM-DD, e.g. {option} 2025-01-31")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a real calendar date; use YYYY-MM-DD") from None


def parse_resync(value: str | Sequence[str] | None, end_date: dt.date | None = None) -> list[str] | None:
    """`--resync a,b` (or `all`, which the sync expands) as table names, with the sync's own checks."""
    from pipelines.sync_options import raise_resync_with_end_date, select_resync  # noqa: PLC0415

    if not value:
        return None
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value) if n and n.strip()]
    if end_date is not None:
        raise_resync_with_end_date()
    return ["all"] if names == ["all"] else select_resync(names, list(known_resources())) or None


def parse_resources(value: str | Sequence[str] | None) -> list[str] | None:
    """`--resources a,b` as de-duplicated known resource names (None = all); else `ConfigError`."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [item.strip() for item in items if item and item.strip()]
    if not names:
        raise ConfigError("--resources is empty; give a comma-separated list such as users,course_results")
    known = known_resources()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"unknown resource(s) {', '.join(unknown)}; choose from: {', '.join(known)}")
    return list(dict.fromkeys(names))


def validate_destination(value: str) -> str:
    """The destination if it is duckdb or postgres; else `ConfigError`."""
    if value not in DESTINATIONS:
        raise ConfigError(f"unknown destination {value!r}; use --destination duckdb or --destination postgres")
    return value


def validate_dataset(value: str) -> str:
    """The dataset (schema) name if it is a plain SQL identifier; else `ConfigError`."""
    if not _DATASET_RE.match(value or ""):
        raise ConfigError(f"dataset name {value!r} is not valid; use letters, digits and underscores, e.g. litmos_raw")
    return value


def check_source_settings(api: ApiSettings, response_format: str = "xml", **given: Any) -> None:
    """Checks the ``[sources.litmos]`` settings with the sync's own validators; ``given`` (None = not
    given) are the command line's, checked instead of the configured ones. Raises `ConfigError`."""
    from pipelines.sync_options import sync_options  # noqa: PLC0415

    sync_options(resources=None, start_date=None, end_date=None, lookback_days=1, response_format=response_format,
                 auth_in_query=False, requests_per_minute=0, api_key=api.api_key, base_url=api.base_url,
                 source=api.source_name, **given)


def resolve_credentials(destination: str) -> str:
    """The destination's credentials the dlt way (`DESTINATION__<DEST>__CREDENTIALS`): an absolute DuckDB
    path (default `litmos.duckdb`) or a Postgres DSN; `ConfigError` when Postgres has none."""
    import dlt  # noqa: PLC0415 - dlt import is slow, keep `--help` fast

    from pipelines import destination as dest  # noqa: PLC0415

    value = None
    for provider in (dlt.secrets, dlt.config):
        try:
            value = provider.get(f"destination.{destination}.credentials")
        except Exception:  # noqa: BLE001 - a malformed toml must not hide an env var
            value = None
        if value not in (None, ""):
            break
    if destination == "duckdb":
        path = dest.duckdb_path(value.get("database") if isinstance(value, Mapping) else value)
        # Absolute, so dlt, dbt and the run history all open the same file whatever their cwd.
        return os.path.abspath(os.path.expanduser(path or dest.DEFAULT_DUCKDB_PATH))
    if isinstance(value, Mapping):
        value = dest.postgres_credentials(value).to_native_representation()
    if not value:
        raise ConfigError("no Postgres credentials; set DESTINATION__POSTGRES__CREDENTIALS="
                          "postgresql://user:password@host:5432/database (or destination.postgres.credentials in "
                          ".dlt/secrets.toml)")
    return str(value)


@dataclass(frozen=True)
class ApiSettings:
    """Litmos connection settings read from dlt config; `api_key` is excluded from repr on purpose."""

    base_url: str
    source_name: str
    api_key: str = field(repr=False)


def resolve_api_settings(api_key: str | None = None, base_url: str | None = None,
                         source_name: str | None = None) -> ApiSettings:
    """The API key, base URL (or us/eu/au) and `source` name: as given, else from `SOURCES__LITMOS__*`.

    Raises:
        ConfigError: The key is missing, or a value is malformed.
    """
    from pipelines.sync_options import configured  # noqa: PLC0415 - dlt injects sources.litmos.*

    given = configured()
    key = api_key or given.get("api_key")
    if not key:
        raise ConfigError("no Litmos API key; set SOURCES__LITMOS__API_KEY (or api_key under [sources.litmos] in "
                          ".dlt/secrets.toml); find it in Litmos under My Profile & Settings")
    url = str(base_url or given.get("base_url") or REGION_BASE_URLS["us"]).strip()
    url = REGION_BASE_URLS.get(url.lower(), url)
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"base URL {url!r} is not a URL; set SOURCES__LITMOS__BASE_URL to e.g. "
                          f"{REGION_BASE_URLS['eu']} (or us/eu/au)")
    source = str(source_name or given.get("source") or DEFAULT_SOURCE_NAME).strip()  # length: the source checks
    return ApiSettings(base_url=url.rstrip("/"), source_name=source, api_key=str(key))


def validate_window(start: dt.date | None, end: dt.date | None) -> None:
    """Raises `ConfigError` when `--end-date` is before `--start-date`."""
    if start and end and end < start:
        raise ConfigError(f"--end-date {end.isoformat()} is before --start-date {start.isoformat()}; swap them or "
                          "pick a later end date")
