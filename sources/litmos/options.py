"""The run options of the Litmos source, validated and typed once by :func:`litmos_options`."""
from __future__ import annotations

import logging
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any, Sequence

from .budget import DEFAULT_REQUESTS_PER_MINUTE
from .exceptions import LitmosConfigError
from .request_errors import env_prefix
from .settings import DEFAULT_BASE_URL, DEFAULT_SOURCE_NAME, ENDPOINTS, PAGE_LIMIT
from .windows import parse_user_date

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LitmosOptions:
    """Validated options of one run; build it with :func:`litmos_options`.

    Attributes:
        source_name: The ``source`` query parameter (<= 50 characters).
        auth_in_query: Send the key in the query string (old tenants) instead of the header.
        requests_per_minute: Shared rate budget (0 = unlimited); the vendor allows 100.
        resources: Table names in endpoint-table order. Naming any reads the collection family now.
        start_date: First day read by resources without a cursor; with ``end_date`` (inclusive) a
            bounded backfill that leaves the cursors alone.
        lookback_days: Days re-read before each cursor (late-committed rows).
        collection_refresh_days: Read the collection family every run (0) or every this many days.
        store_login_keys: Load the users' ``LoginKey`` (it logs its user in) instead of NULL.
        max_workers: Requests in flight at once.
        windows_per_batch: Windows of every delta resource per committed batch, spread evenly; the last
            batch keeps only the tables that end the run (None = one batch).
        tenant: Whose ``sources.litmos.tenants.<tenant>`` holds key, host and source (None: the single
            org's ``sources.litmos``); error messages name its variables.
    """

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    source_name: str = DEFAULT_SOURCE_NAME
    response_format: str = "xml"
    auth_in_query: bool = False
    requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE
    resources: tuple[str, ...] = tuple(ENDPOINTS)
    start_date: datetime | None = None
    end_date: datetime | None = None
    lookback_days: float = 1.0
    page_limit: int = PAGE_LIMIT
    collection_refresh_days: int = 0
    store_login_keys: bool = False
    max_workers: int = 8
    windows_per_batch: int | None = None
    max_retries: int = 6
    backoff_base: float = 1.0
    tenant: str | None = None

    @property
    def env_prefix(self) -> str:
        """The environment prefix of this org's key, host and source settings."""
        return env_prefix(self.tenant)


_DEFAULTS = {f.name: None if f.default is MISSING else f.default for f in fields(LitmosOptions)}


def litmos_options(**raw: Any) -> LitmosOptions:
    """Validates raw option values (text, numbers, dates; None = default) and types them.

    Raises:
        LitmosConfigError: The first bad value, in one line naming the setting.
        TypeError: A name that is not an option.
    """
    unknown = sorted(set(raw) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"litmos_options() got unknown option(s): {', '.join(unknown)}")
    given = {name: _DEFAULTS[name] if raw.get(name) is None else raw[name] for name in _DEFAULTS}
    api_key, requests_per_minute, tenant = given["api_key"], given["requests_per_minute"], given["tenant"]
    env = env_prefix(tenant)
    if not api_key:
        section = f"sources.litmos.tenants.{tenant}" if tenant else "sources.litmos"
        raise LitmosConfigError(f"no Litmos API key: set {env}API_KEY or {section}.api_key in .dlt/secrets.toml")
    base_url = str(given["base_url"] or DEFAULT_BASE_URL).strip()
    if not base_url.startswith(("http://", "https://")):
        raise LitmosConfigError(f"bad base_url {base_url!r}: use a URL like {DEFAULT_BASE_URL} ({env}BASE_URL)")
    source_name = str(given["source_name"] or DEFAULT_SOURCE_NAME)
    if len(source_name) > 50:
        raise LitmosConfigError(
            f"bad source name {source_name[:20]!r}...: the API allows at most 50 characters ({env}SOURCE)")
    response_format = given["response_format"] or "xml"
    if response_format not in ("xml", "json"):
        raise LitmosConfigError(f"bad response_format {response_format!r}: use 'xml' or 'json'")
    rate = _number(requests_per_minute)
    if rate is None or rate < 0:
        raise LitmosConfigError(f"bad requests_per_minute {requests_per_minute!r}: use 0 (unlimited) or more")
    resources = raw.get("resources")
    tables = select_resources(resources)
    start = parse_user_date(given["start_date"], "start_date")
    end = parse_user_date(given["end_date"], "end_date")
    if start and end and end < start:
        raise LitmosConfigError(f"bad end_date {end:%Y-%m-%d}: it is before the start date {start:%Y-%m-%d}")
    lookback_days, page_limit, refresh_days = given["lookback_days"], given["page_limit"], given["collection_refresh_days"]
    lookback = _number(lookback_days)
    if lookback is None or lookback < 0:
        raise LitmosConfigError(f"bad lookback_days {lookback_days!r}: use 0 or more days")
    limit = _number(page_limit)
    if limit is None or not limit.is_integer() or not 1 <= limit <= 1000:
        raise LitmosConfigError(f"bad page_limit {page_limit}: the API allows 1..1000")
    refresh = _number(refresh_days)
    if refresh is None or refresh < 0 or not refresh.is_integer():
        raise LitmosConfigError(
            f"bad collection_refresh_days {refresh_days!r}: use 0 (every run) or a whole number of "
            "days, e.g. 7 (SOURCES__LITMOS__COLLECTION_REFRESH_DAYS)")
    batch = given["windows_per_batch"]
    return LitmosOptions(
        api_key=api_key, base_url=base_url, source_name=source_name, response_format=response_format,
        auth_in_query=parse_flag(given["auth_in_query"], "auth_in_query"), requests_per_minute=rate,
        resources=tuple(tables), start_date=start, end_date=end, lookback_days=lookback, page_limit=int(limit),
        collection_refresh_days=0 if _named(resources) else int(refresh),
        store_login_keys=parse_flag(given["store_login_keys"], "store_login_keys"),
        max_workers=_tuning("max_workers", given["max_workers"], int, 1),
        windows_per_batch=None if batch in (None, "", 0) else _tuning("windows_per_batch", batch, int, 1),
        max_retries=_tuning("max_retries", given["max_retries"], int, 0),
        backoff_base=_tuning("backoff_base", given["backoff_base"], float, 0), tenant=tenant or None)


def select_resources(resources: Sequence[str] | str | None) -> list[str]:
    """Resource names validated, in endpoint-table order (``module_details`` adds ``modules``).

    Raises:
        LitmosConfigError: A name is not a known resource.
    """
    if not _named(resources):
        return list(ENDPOINTS)
    if isinstance(resources, str):
        resources = resources.split(",")
    names = [r.strip() for r in resources if r and r.strip()]  # type: ignore[union-attr]
    unknown = [r for r in names if r not in ENDPOINTS]
    if unknown:
        raise LitmosConfigError(f"unknown resource {', '.join(map(repr, unknown))}; choose from: {', '.join(ENDPOINTS)}")
    chosen = set(names)
    if "module_details" in chosen and "modules" not in chosen:
        log.info("module_details follows modules: adding the modules resource")
        chosen.add("modules")
    return [t for t in ENDPOINTS if t in chosen]


def parse_flag(value: Any, name: str) -> bool:
    """A true/false setting that may arrive as text from the environment."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise LitmosConfigError(f"bad {name} {value!r}: use true or false (SOURCES__LITMOS__{name.upper()})")


def _named(resources: Any) -> bool:
    return resources not in (None, "", [], ())


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _tuning(name: str, value: Any, kind: type, least: float) -> Any:
    number = _number(value)
    if number is None or number < least or (kind is int and not number.is_integer()):
        raise LitmosConfigError(f"bad sources.litmos.{name} {value!r}: expected a {kind.__name__}")
    return kind(number)
