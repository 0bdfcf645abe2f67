"""Day-aligned UTC windows ``[D, D+k]`` (``k <= 7`` days) for the /org delta endpoints; user dates.

The last window ends tomorrow 00:00: the vendor returns today's rows only when ``to`` lies ahead.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .exceptions import LitmosConfigError
from .settings import MAX_WINDOW_DAYS


@dataclass(frozen=True)
class Window:
    """One since/to request range (UTC, day-aligned) and the state mark loading it moves: ``cursor`` (the
    nightly's upper edge), ``history`` (the lower edge), ``resync`` (a shadow copy) or ``backfill``."""

    since: datetime
    to: datetime
    role: str = "cursor"

    def params(self) -> dict[str, str]:
        return {"since": format_api_date(self.since), "to": format_api_date(self.to)}


def format_api_date(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (the seed's documented format)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def floor_day(value: datetime) -> datetime:
    """UTC midnight at or before ``value``."""
    return value.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def parse_user_date(value: str | date | datetime | None, name: str) -> datetime | None:
    """A ``YYYY-MM-DD`` (or ISO datetime) option as a UTC datetime (naive = UTC).

    Raises:
        LitmosConfigError: Not a date; the message names the option ``name``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise LitmosConfigError(f"bad {name} {text!r}: use a date like 2025-01-31 (YYYY-MM-DD, UTC)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def plan_windows(start: datetime, end: datetime, max_days: int = MAX_WINDOW_DAYS,
                 role: str = "cursor") -> list[Window]:
    """Splits ``[floor_day(start), floor_day(end))`` into consecutive windows of at most ``max_days``."""
    since, end = floor_day(start), floor_day(end)
    windows: list[Window] = []
    while since < end:
        to = min(since + timedelta(days=max_days), end)
        windows.append(Window(since, to, role))
        since = to
    return windows


def plan_windows_back(bound: datetime, top: datetime, max_days: int = MAX_WINDOW_DAYS,
                      role: str = "history") -> list[Window]:
    """Splits ``[floor_day(bound), floor_day(top))`` into windows, newest first (an interrupted walk
    resumes below its lowest loaded window)."""
    bound, to = floor_day(bound), floor_day(top)
    windows: list[Window] = []
    while to > bound:
        since = max(to - timedelta(days=max_days), bound)
        windows.append(Window(since, to, role))
        to = since
    return windows


def run_end(server_now: datetime, end_date: datetime | None) -> datetime:
    """The ``to`` of the last window: tomorrow 00:00 UTC, or the day after the inclusive ``end_date``."""
    tomorrow = floor_day(server_now) + timedelta(days=1)
    if end_date is None:
        return tomorrow
    return min(floor_day(end_date) + timedelta(days=1), tomorrow)


def start_for(cursor: datetime | None, default_start: datetime, lookback_days: float) -> datetime:
    """Where a resource's windows start: its cursor minus the lookback (else ``default_start``), floored."""
    if cursor is None:
        return floor_day(default_start)
    return floor_day(cursor - timedelta(days=lookback_days))
