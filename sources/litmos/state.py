"""The dlt source state of the Litmos source: what each table's last committed batch proves (written
inside extraction, so committed with the rows they describe)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import dlt

from .settings import ENDPOINTS

STATE_CURSORS = "cursors"
STATE_BACKFILLS = "backfills"
# The lower edge of what each delta table holds: every window from it up to the cursor was loaded.
STATE_COVERED = "covered_from"
# Re-syncs in progress: table -> {"id", "bound", "cursor", "done"} (see pipelines/history.py).
STATE_RESYNC = "resync"
# The history start the user chose (an ISO date); absent = the discovered bound.
STATE_HISTORY_START = "history_start"
RESYNC_SUFFIX = "__resync"
# The lower edge of a ``since`` feed read without ``since``: everything it ever held.
WHOLE_FEED = datetime(1970, 1, 1, tzinfo=timezone.utc)
# When each collection-family table was last read in full, by the server's clock.
STATE_REFRESHED = "refreshed"
# What the next run's plan expects (plan.split_long_chains).
STATE_ROWS_PER_DAY = "rows_per_day"
STATE_FAMILY_REQUESTS = "collection_family_requests"

#: Undated lists, re-read in full every run or every ``collection_refresh_days``.
COLLECTION_FAMILY = ("collections", "collection_listings", "collection_listing_users",
                     "collection_listing_teams")


def _utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(timezone.utc) if value else None


def cursors_from_state(source_state: dict[str, Any] | None) -> dict[str, datetime | None]:
    """Reads the stored cursors (ISO strings in the dlt source state) as UTC datetimes."""
    raw = (source_state or {}).get(STATE_CURSORS, {}) or {}
    return {table: _utc(raw.get(table)) for table in ENDPOINTS}


def session_state(source_state: dict[str, Any] | None) -> dict[str, Any]:
    """What a ``SyncSession`` reads from the dlt source state, as its keyword arguments."""
    state = source_state or {}
    raw = state.get(STATE_ROWS_PER_DAY, {}) or {}
    family = state.get(STATE_FAMILY_REQUESTS)
    refreshed = state.get(STATE_REFRESHED, {}) or {}
    return {"cursors": cursors_from_state(state), "backfills": dict(state.get(STATE_BACKFILLS, None) or {}),
            "refreshed": {t: _utc(refreshed.get(t)) for t in COLLECTION_FAMILY},
            "rows_per_day": {t: float(v) for t, v in raw.items() if isinstance(v, (int, float))},
            "family_requests": int(family) if isinstance(family, (int, float)) else None,
            "covered": dict(state.get(STATE_COVERED, None) or {})}


def _section(name: str) -> dict[str, Any]:
    return dlt.current.source_state().setdefault(name, {})


def set_cursor(table: str, value: datetime) -> None:
    _section(STATE_CURSORS)[table] = value.astimezone(timezone.utc).isoformat()


def set_covered(table: str, value: datetime) -> None:
    _section(STATE_COVERED)[table] = value.astimezone(timezone.utc).isoformat()


def cover_first_window(table: str, since: datetime) -> None:
    """A table starting from scratch holds everything from its first window's ``since``."""
    covered = _section(STATE_COVERED)
    if not covered.get(table):
        covered[table] = since.isoformat()


def set_rows_per_day(table: str, rows: int, days: float) -> None:
    if days >= 1:  # a few hours are too few to say how dense a resource is
        _section(STATE_ROWS_PER_DAY)[table] = round(rows / days, 1)


def set_backfill(table: str, range_key: str, done_to: datetime | None) -> None:
    backfills = _section(STATE_BACKFILLS)
    if done_to is None:
        backfills.pop(table, None)  # finished: the same command later runs in full again
    else:
        backfills[table] = {"range": range_key, "done_to": done_to.isoformat()}


def set_refreshed(table: str, server_now: datetime, family_requests: int) -> None:
    """Records a full read of a collection-family table and what the family's read cost."""
    _section(STATE_REFRESHED)[table] = server_now.astimezone(timezone.utc).isoformat()
    dlt.current.source_state()[STATE_FAMILY_REQUESTS] = family_requests


def set_resync_progress(table: str, entry: dict[str, Any], cursor: datetime, done: bool) -> None:
    """Records how far ``table``'s re-read got; when ``done`` its cursor and lower edge become the copy's."""
    entry = dict(entry, cursor=cursor.astimezone(timezone.utc).isoformat())
    if done:
        entry["done"] = True
        set_cursor(table, cursor)
        set_covered(table, datetime.fromisoformat(entry["bound"]) if ENDPOINTS[table].kind == "delta"
                    else WHOLE_FEED)
    _section(STATE_RESYNC)[table] = entry


def forget_finished_resync(table: str) -> None:
    """Drops ``table``'s finished re-sync entry (sync() swapped it in before the session)."""
    entries = dlt.current.source_state().get(STATE_RESYNC) or {}
    if (entries.get(table) or {}).get("done"):
        entries.pop(table, None)


def remember_history_choice(choice: str | None) -> None:
    """Stores the history start the user chose ("" = the discovered bound; None = leave it alone)."""
    if choice is None:
        return
    state = dlt.current.source_state()
    if choice:
        state[STATE_HISTORY_START] = choice
    else:
        state.pop(STATE_HISTORY_START, None)
