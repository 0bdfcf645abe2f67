"""The window plan of one run (no request, no thread): windows from the cursors, batches, chain splits."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .exceptions import LitmosConfigError
from .settings import ENDPOINTS
from .state import COLLECTION_FAMILY
from .windows import Window, plan_windows, plan_windows_back, run_end, start_for

log = logging.getLogger(__name__)

# What one page is assumed to take when planning: the vendor's results pages take seconds.
PAGE_SECONDS = 2.0
# Share of the last batch's expected requests its late tables hold (see ``assign_batches``).
LATE_SHARE = 1 / 3
MIN_LATE = 2  # a last batch of one small table would be over before the batch before it loads
DEFAULT_HISTORY_DAYS = 365


@dataclass
class Plan:
    """What one run reads.

    Attributes:
        windows: Per delta table, its windows in fetch order.
        since: Per ``since`` table, its ``since`` (None = the whole feed).
        expected_pages: Per table, the pages each window is expected to hold.
        skipped: Collection-family tables not due for their full read.
        backfill_range: ``start..end`` of a bounded backfill (None for a nightly run).
        per_batch: Windows of every delta table per committed batch (the batch before the last holds two
            shares of the tables that have none in the last).
        batch_of: Per delta table, the batch of each of its windows.
        late: The tables the last batch holds when it holds only some (None: every table's last windows).
    """

    resources: list[str]
    windows: dict[str, list[Window]] = field(default_factory=dict)
    since: dict[str, datetime | None] = field(default_factory=dict)
    expected_pages: dict[str, list[int]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    refresh_family: bool = False
    backfill_range: str | None = None
    per_batch: int = 1
    batches_total: int = 1
    batch_of: dict[str, list[int]] = field(default_factory=dict)
    late: list[str] | None = None

    def positions(self, table: str, batch: int) -> list[int]:
        """The positions of ``table``'s windows in ``batch``, in order."""
        return [p for p, b in enumerate(self.batch_of.get(table, ())) if b == batch]

    @property
    def extras_batch(self) -> int:
        """The batch that reads the ``since`` feeds and the collection family: the last but for late tables."""
        return self.batches_total - (2 if self.late is not None else 1)


def family_due(refreshed: dict[str, datetime | None], tables: list[str], server_now: datetime,
               every_days: int) -> bool:
    """Whether this run reads the collection family: every run (``every_days`` 0), else when its oldest
    read is ``every_days`` UTC dates ago (a weekly refresh keeps its weekday whatever the time of day)."""
    family = [t for t in tables if t in COLLECTION_FAMILY]
    if not family:
        return False
    if every_days <= 0:
        return True
    stamps = [refreshed.get(t) for t in family]
    if any(stamp is None for stamp in stamps):
        return True
    oldest = min(stamps)  # type: ignore[type-var]
    return (server_now.astimezone(timezone.utc).date() - oldest.date()).days >= every_days


def days_read(since: datetime, to: datetime, server_now: datetime) -> float:
    """Days of ``[since, to]`` before the server's now."""
    return max(0.0, (min(to, server_now) - since).total_seconds() / 86400)


def plan_run(*, server_now: datetime, cursors: dict[str, datetime | None], resources: list[str],
             start_date: datetime | None = None, end_date: datetime | None = None, lookback_days: float = 1,
             page_limit: int = 1000, windows_per_batch: int | None = None, rate: float = 0.0,
             backfills: dict[str, Any] | None = None, refreshed: dict[str, datetime | None] | None = None,
             collection_refresh_days: int = 0, rows_per_day: dict[str, float] | None = None,
             family_requests: int | None = None, first_start: datetime | None = None,
             history: dict[str, tuple[datetime, datetime]] | None = None,
             resync: dict[str, dict[str, Any]] | None = None,
             since_whole: set[str] | frozenset[str] = frozenset()) -> Plan:
    """Plans one run; the state values are :func:`state.session_state`'s, ``rate`` is in requests/s.

    Args:
        first_start: Where resources without a cursor start (None: ``start_date``, else one year
            back); the achievements feed is then read whole unless ``start_date`` is set.
        history: A history walk instead of a nightly run: per delta table ``(bound, top)``, read newest
            first, each window moving ``covered_from`` down. Nothing else is read.
        since_whole: ``since`` resources to read whole (their feed was read from a later date only).

    Raises:
        LitmosConfigError: ``end_date`` lies before the start (``start_date`` or its default).
    """
    backfill = end_date is not None
    default_start = start_date or first_start or (server_now - timedelta(days=DEFAULT_HISTORY_DAYS))
    if end_date is not None and end_date < default_start:
        raise LitmosConfigError(
            f"bad end_date {end_date:%Y-%m-%d}: it is before the start date {default_start:%Y-%m-%d}"
        )
    end = run_end(server_now, end_date)
    # A bounded backfill records how far it got per table, so rerunning the same command resumes.
    plan = Plan(list(resources), backfill_range=f"{default_start:%Y-%m-%d}..{end:%Y-%m-%d}" if backfill else None)
    resync = resync or {}
    for table in resources:
        kind = ENDPOINTS[table].kind
        cursor = None if backfill else cursors.get(table)
        if history is not None:
            if kind == "delta" and table in history:
                plan.windows[table] = plan_windows_back(*history[table])
        elif kind == "delta" and table in resync:
            begin = datetime.fromisoformat(resync[table].get("cursor") or resync[table]["bound"])
            start = start_for(begin, begin, lookback_days) if resync[table].get("cursor") else begin
            plan.windows[table] = plan_windows(start, end, role="resync")
        elif kind == "delta":
            start = start_for(cursor, default_start, lookback_days)
            progress = (backfills or {}).get(table) or {}
            if backfill and progress.get("range") == plan.backfill_range and progress.get("done_to"):
                start = datetime.fromisoformat(progress["done_to"])
            plan.windows[table] = plan_windows(start, end, role="backfill" if backfill else "cursor")
        elif kind == "since":
            if table in resync or (table in since_whole and not backfill):
                plan.since[table] = None  # the whole feed
            elif cursor is None and start_date is None and not backfill and first_start is not None:
                plan.since[table] = None  # a first sync reads the whole feed: no ``since``
            else:
                plan.since[table] = start_for(cursor, default_start, lookback_days)
    if history is not None:  # module_details follows the modules pages the walk reads
        plan.resources = [t for t in resources
                          if t in plan.windows or (t == "module_details" and "modules" in plan.windows)]
    plan.refresh_family = history is None and family_due(refreshed or {}, plan.resources, server_now,
                                                         collection_refresh_days)
    if not plan.refresh_family:
        plan.skipped = [t for t in plan.resources if t in COLLECTION_FAMILY]
    if plan.skipped:
        log.info("collection family read in full every %d day(s); not due yet: %s unchanged",
                 collection_refresh_days, ", ".join(plan.skipped))
    split_long_chains(plan, server_now, rows_per_day or {}, family_requests or 0, page_limit, rate)
    longest = max((len(w) for w in plan.windows.values()), default=0)
    most = windows_per_batch if windows_per_batch and windows_per_batch > 0 else max(longest, 1)
    plan.batches_total = max(1, math.ceil(longest / most))
    # As even as the batch count allows (18 windows at 8 a batch: 6+6+6, not 8+8+2): the batch before a
    # small last one would be committed only near the run's end, a load more after its last request.
    plan.per_batch = max(1, math.ceil(longest / plan.batches_total))
    assign_batches(plan, walk=history is not None)
    return plan


def assign_batches(plan: Plan, walk: bool = False) -> None:
    """Puts each window in its batch: ``per_batch`` windows of every table a batch, except that the last
    batch of a forward run keeps only its late tables: the most expected requests first (ties: in the
    endpoint table's order), until they hold ``LATE_SHARE`` of its requests and are at least two. The
    others' last windows join the batch before.

    Why: a package's load costs about the same for a table of ten rows as for one of ten thousand, and the
    last load comes after the last request. A last batch of a few tables is loaded quickly, while the
    batch before it, most of the tables, loads as the late tables are still fetched. A history ``walk``
    keeps equal batches: its progress lines read "back to" from ``per_batch``.
    """
    last = plan.batches_total - 1
    plan.batch_of = {t: [min(p // plan.per_batch, last) for p in range(len(ws))] for t, ws in plan.windows.items()}
    if last < 1 or walk:
        return
    final = {t: sum(plan.expected_pages[t][p] for p in plan.positions(t, last))
             for t, b in plan.batch_of.items() if last in b}
    total, held, late = sum(final.values()), 0, []
    for table in sorted(final, key=lambda t: -final[t]):  # stable: ties in plan order
        if held >= LATE_SHARE * total and len(late) >= MIN_LATE:
            break
        late.append(table)
        held += final[table]
    if len(late) == len(final):
        return  # every table ends the run: nothing to move
    plan.late = late
    for table in final:
        if table not in late:
            plan.batch_of[table] = [min(b, last - 1) for b in plan.batch_of[table]]


def split_long_chains(plan: Plan, server_now: datetime, rows_per_day: dict[str, float], family_requests: int,
                      page_limit: int, rate: float) -> None:
    """Re-plans in one-day windows (side by side) the resources whose longest expected chain of pages (one
    after another, from last run's rows per day) outlasts the whole run at the rate budget; fills
    ``plan.expected_pages``."""
    def pages(table: str, window: Window) -> int:
        return int(rows_per_day.get(table, 0.0) * days_read(window.since, window.to, server_now)
                   // page_limit) + 1

    expected = {t: [pages(t, w) for w in ws] for t, ws in plan.windows.items() if ws}
    plan.expected_pages = dict(expected)
    for table, since in plan.since.items():  # one "window" from since to now
        since = since or server_now - timedelta(days=DEFAULT_HISTORY_DAYS)  # the whole feed
        plan.expected_pages[table] = [pages(table, Window(since, server_now))]
    total = sum(map(sum, plan.expected_pages.values())) + (family_requests if plan.refresh_family else 0)
    floor_s = total / rate if rate > 0 else 0.0
    # Each page of a chain also waits for its token (priority puts it first in line, but not sooner).
    per_page_s = PAGE_SECONDS + (1 / rate if rate > 0 else 0.0)
    for table, counts in expected.items():
        longest = max(counts)
        if longest >= 2 and longest * per_page_s > floor_s:
            windows = plan.windows[table]
            if windows[0].role == "history":  # newest first
                plan.windows[table] = plan_windows_back(windows[-1].since, windows[0].to, max_days=1)
            else:
                plan.windows[table] = plan_windows(windows[0].since, windows[-1].to, max_days=1,
                                                   role=windows[0].role)
            plan.expected_pages[table] = [pages(table, w) for w in plan.windows[table]]
            log.info("%s: about %d pages per window, longer than the run at the rate budget (%.0f s): "
                     "one-day windows", table, longest, floor_s)
