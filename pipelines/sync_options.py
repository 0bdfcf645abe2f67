"""The options of one sync, validated once: the caller's, else ``sources.litmos.*`` injected by dlt; the
source's own (``litmos_options``) plus the history walk's ``history_start`` and ``resync``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from dlt.common.configuration import with_config
from dlt.common.typing import TSecretStrValue

from sources.litmos.exceptions import LitmosConfigError
from sources.litmos.options import LitmosOptions, litmos_options
from sources.litmos.settings import ENDPOINTS
from sources.litmos.windows import floor_day, parse_user_date

WINDOWS_PER_BATCH = 8
DATED = tuple(t for t, e in ENDPOINTS.items() if e.kind in ("delta", "since"))


class _Auto:
    """``history_start = "auto"``: discover the bound, forgetting a start chosen earlier."""

    def __repr__(self) -> str:
        return "auto"


AUTO: Any = _Auto()


@dataclass(frozen=True)
class SyncOptions:
    """A sync's validated options: the source's, the history start and the tables to re-sync."""

    source: LitmosOptions
    history_start: datetime | Any | None  # a UTC day, AUTO, or None (the stored choice, else discovered)
    resync: tuple[str, ...]


@with_config(sections=("sources", "litmos"))
def configured(api_key: TSecretStrValue = None, base_url: Any = None, source: Any = None,
               collection_refresh_days: Any = None, store_login_keys: Any = None, history_start: Any = None,
               max_workers: Any = None, windows_per_batch: Any = None, max_retries: Any = None,
               backoff_base: Any = None) -> dict[str, Any]:
    """The ``sources.litmos.*`` settings the caller gave or dlt injected (env, toml); pass only those chosen."""
    return {k: v for k, v in locals().items() if v is not None}


def sync_options(*, resources: Sequence[str] | str | None, start_date: Any, end_date: Any, lookback_days: Any,
                 response_format: str, auth_in_query: bool, requests_per_minute: Any,
                 resync: Sequence[str] | str | None = None, **settings: Any) -> SyncOptions:
    """Validates a sync's arguments and settings (``settings``: see :func:`configured`; None = not given).

    Raises:
        LitmosConfigError: The first bad value, in one line naming the setting.
    """
    given = configured(**{k: v for k, v in settings.items() if v is not None})
    source = litmos_options(
        api_key=given.get("api_key"), base_url=given.get("base_url"), source_name=given.get("source"),
        response_format=response_format, auth_in_query=auth_in_query, requests_per_minute=requests_per_minute,
        resources=resources, start_date=start_date, end_date=end_date, lookback_days=lookback_days,
        collection_refresh_days=given.get("collection_refresh_days"), store_login_keys=given.get("store_login_keys"),
        max_workers=given.get("max_workers"), windows_per_batch=given.get("windows_per_batch", WINDOWS_PER_BATCH),
        max_retries=given.get("max_retries"), backoff_base=given.get("backoff_base"))
    tables = select_resync(resync, list(source.resources))
    if tables and source.end_date is not None:
        raise_resync_with_end_date()
    return SyncOptions(source, parse_history_start(given.get("history_start")), tuple(tables))


def parse_history_start(value: Any) -> Any:
    """``YYYY-MM-DD`` (text, date or datetime) -> UTC datetime, ``auto`` -> AUTO, None/empty -> None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if value is AUTO or (isinstance(value, str) and value.strip().lower() == "auto"):
        return AUTO
    try:
        return parse_user_date(value, "history_start")
    except (LitmosConfigError, TypeError):
        raise LitmosConfigError(f"bad history_start {value!r}: use a date like 2015-01-01 (YYYY-MM-DD) or 'auto' "
                                "(--history-start, SOURCES__LITMOS__HISTORY_START)") from None


def select_resync(value: Sequence[str] | str | None, tables: list[str]) -> list[str]:
    """The tables ``--resync`` names (``all``: every dated one of ``tables``), validated."""
    if not value:
        return []
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value) if n and n.strip()]
    if names == ["all"]:
        return [t for t in tables if t in DATED]
    if "module_details" in names:  # its ids come from the modules pages: re-reading modules reads them
        names = [n for n in names if n != "module_details"] + (["modules"] if "modules" not in names else [])
    unknown = [n for n in names if n not in ENDPOINTS]
    if unknown:
        raise LitmosConfigError(f"unknown resource {', '.join(map(repr, unknown))} in --resync; choose from: "
                                f"all, {', '.join(DATED)}")
    undated = [n for n in names if n not in DATED]
    if undated:
        raise LitmosConfigError(f"--resync {', '.join(undated)}: these tables are read in full on every run "
                                "(they have no dates); nothing to re-sync")
    missing = [n for n in names if n not in tables]
    if missing:
        raise LitmosConfigError(f"--resync {', '.join(missing)}: not among --resources; add them there too")
    return [t for t in tables if t in names]


def raise_resync_with_end_date() -> Any:
    raise LitmosConfigError("--resync cannot be combined with --end-date; run it without --end-date")


def check_dates(server_now: datetime, start: datetime | None, end: datetime | None, history: Any) -> None:
    """Refuses future dates and a ``history_start`` after the start date, before any data request."""
    today = floor_day(server_now)
    history = history if isinstance(history, datetime) else None  # AUTO: nothing to check
    for name, value in (("--start-date", start), ("--end-date", end), ("history_start", history)):
        if value is not None and floor_day(value) > today:
            raise LitmosConfigError(
                f"bad {name} {value:%Y-%m-%d}: it is after the server's today ({today:%Y-%m-%d}); "
                "use a past date")
    if history is not None and start is not None and floor_day(history) > floor_day(start):
        raise LitmosConfigError(
            f"bad history_start {history:%Y-%m-%d}: it is after the start date {start:%Y-%m-%d}; "
            "the history starts at or before it")

