"""Day-aligned UTC window planning for the /org delta endpoints and date parsing of user input.

A window is ``[D 00:00:00, D+k 00:00:00]`` with ``k <= 7``. Whole UTC days make the plan exact whether the
API compares ``to`` inclusively or at day granularity (docs/architecture.md section 1): a row stamped on day
D is always inside the window that starts at D's midnight. The last window ends tomorrow 00:00:00, a
future date, because the vendor only returns today's rows when ``to`` lies in the future.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .exceptions import LitmosConfigError
from .settings import MAX_WINDOW_DAYS

API_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Window:
    """One since/to request range (both tz-aware UTC, day-aligned)."""

    since: datetime
    to: datetime
    # What loading this window proves, i.e. which state mark it moves: "cursor" (the nightly's upper
    # edge), "history" (the lower edge of what is held, walking back), "resync" (a re-read into the
    # table's shadow copy) or "backfill" (a bounded --end-date backfill's progress).
    role: str = "cursor"

    def params(self) -> dict[str, str]:
        """Returns the ``since``/``to`` query parameters in the documented format."""
        return {"since": format_api_date(self.since), "to": format_api_date(self.to)}


def format_api_date(value: datetime) -> str:
    """Formats a UTC datetime as ``YYYY-MM-DD HH:MM:SS`` (the seed's documented format)."""
    return value.astimezone(timezone.utc).strftime(API_DATE_FORMAT)


def floor_day(value: datetime) -> datetime:
    """Returns UTC midnight at or before ``value``."""
    value = value.astimezone(timezone.utc)
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def parse_user_date(value: str | date | datetime | None, name: str) -> datetime | None:
    """Parses a ``YYYY-MM-DD`` (or ISO datetime) option into a UTC datetime.

    Args:
        value: The user's value; dates and naive datetimes are read as UTC.
        name: The option's name, quoted in the error message.

    Returns:
        A tz-aware UTC datetime, or None when ``value`` is None/empty.

    Raises:
        LitmosConfigError: The value is not a date.
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
            raise LitmosConfigError(
                f"bad {name} {text!r}: use a date like 2025-01-31 (YYYY-MM-DD, UTC)"
            ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def plan_windows(start: datetime, end: datetime, max_days: int = MAX_WINDOW_DAYS,
                 role: str = "cursor") -> list[Window]:
    """Splits ``[floor_day(start), end)`` into consecutive day-aligned windows of at most ``max_days``.

    Args:
        start: First instant to cover; floored to its UTC midnight.
        end: Day-aligned end of the last window (e.g. tomorrow 00:00:00 UTC).
        max_days: Longest window in days (the vendor allows 7).

    Returns:
        Windows without gaps or overlaps (each ``to`` is the next ``since``); empty when start >= end.
    """
    since = floor_day(start)
    end = floor_day(end)
    step = timedelta(days=max_days)
    windows: list[Window] = []
    while since < end:
        to = min(since + step, end)
        windows.append(Window(since, to, role))
        since = to
    return windows


def plan_windows_back(bound: datetime, top: datetime, max_days: int = MAX_WINDOW_DAYS,
                      role: str = "history") -> list[Window]:
    """Splits ``[floor_day(bound), floor_day(top))`` into day-aligned windows, newest first.

    A history walk goes back from what is already held, so each loaded window extends the held range
    downwards without a gap, and an interrupted walk resumes from its lowest loaded window.

    Returns:
        Windows of at most ``max_days`` (the oldest may be shorter), each ``since`` the next ``to``.
    """
    bound, to = floor_day(bound), floor_day(top)
    step = timedelta(days=max_days)
    windows: list[Window] = []
    while to > bound:
        since = max(to - step, bound)
        windows.append(Window(since, to, role))
        to = since
    return windows


def run_end(server_now: datetime, end_date: datetime | None) -> datetime:
    """Returns the ``to`` of the last window: tomorrow 00:00 UTC, or the day after ``end_date``.

    ``end_date`` is inclusive (its whole day is read) and never reaches past tomorrow.
    """
    tomorrow = floor_day(server_now) + timedelta(days=1)
    if end_date is None:
        return tomorrow
    return min(floor_day(end_date) + timedelta(days=1), tomorrow)


def start_for(cursor: datetime | None, default_start: datetime, lookback_days: float) -> datetime:
    """Returns where a resource's windows start: its cursor minus the lookback, floored to a day.

    Args:
        cursor: The stored cursor (end of the last fully loaded window), or None on a first run.
        default_start: Where to start without a cursor (``start_date``, default one year back).
        lookback_days: Days re-read before the cursor to catch late-committed rows.
    """
    if cursor is None:
        return floor_day(default_start)
    return floor_day(cursor - timedelta(days=lookback_days))
