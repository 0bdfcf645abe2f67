"""One extraction run: window plans per resource, batches of windows, concurrent fetching, dlt resources.

A :class:`SyncSession` plans every selected resource's windows from its cursor, splits them into batches
(``windows_per_batch`` windows of every delta resource per batch) and submits each batch's windows to one
thread pool. Every request passes the client's shared rate budget, so the pool only has to be wide
enough that the budget, not the server's latency, sets the pace. :meth:`resources` turns one submitted
batch into dlt resources that yield the finished pages in window order and move each resource's cursor
in the dlt source state, so ``pipeline.run`` commits data and cursors of a batch together.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from .budget import PriorityGate
from .client import LitmosClient
from .exceptions import Cancelled, LitmosConfigError
from .fetch import Fetcher
from .parsing import arrow_schema
from .rejects import rejects_resource
from .settings import ELEARNING_MODULE_TYPES, ENDPOINTS, Endpoint
from .windows import Window, format_api_date, plan_windows, plan_windows_back, run_end, start_for

log = logging.getLogger(__name__)

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
# When each full-refresh table (the collection family) was last read in full, by the server's clock.
STATE_REFRESHED = "refreshed"
# Rows per day each delta resource read in its last batch, and the requests of the last full read of the
# collection family: what the next run's plan expects (see SyncSession._split_long_chains).
STATE_ROWS_PER_DAY = "rows_per_day"
STATE_FAMILY_REQUESTS = "collection_family_requests"
# What one page is assumed to take when planning: the vendor's results pages take seconds.
PAGE_SECONDS = 2.0
DEFAULT_HISTORY_DAYS = 365
# Pages of one window buffered ahead of dlt's extraction (back-pressure): memory is bounded by pages in
# flight, not by the size of a window (the newest windows of a long history hold the most rows).
PAGES_AHEAD = 4
# Pages that windows may buffer beyond their own PAGES_AHEAD, all windows of the run together: the
# reader takes a resource's windows in order, so without it the one-day windows of a split chain (see
# _split_long_chains) would each stop after 4 pages until the reader reaches them, and run one after the
# other again. About 10-25 MB of Arrow pages at most.
SHARED_PAGES_AHEAD = 48
# Rows per table handed to dlt for a delta resource: consecutive pages are combined (zero-copy) up to
# this many rows, because dlt's extract pays a fixed Python cost per item (schema checks, column
# normalisation, buffer accounting): with one 1000-row page per item it was most of extract's 2.5 s in a
# 6.8 s profile. The combined pages stay in RAM until dlt writes them (20k course results: ~5 MB).
ROWS_PER_ITEM = 20_000
_END = object()
# Priority handicap of a request for a batch that is not being read yet: those windows are fetched
# ahead only with the budget the batch being read leaves unused (its last pages and its load), so
# requests keep flowing across batch boundaries without delaying the batch dlt is waiting for.
_PREFETCH_HANDICAP = 1_000_000
# What a resource's generator yields while its next page is still on the wire. dlt skips None and
# moves round robin to the next resource (sleeping briefly when none has anything), so one slow
# window never holds up the pages of the others, and the main thread never blocks on a lock:
# Ctrl-C / SIGTERM inside a blocking ``Queue.get`` can leave the queue's mutex held and hang the run.
NOT_READY = None


def _until_done(future: Future) -> Iterator[None]:
    """Yields NOT_READY until ``future`` is done."""
    while not future.done():
        yield NOT_READY


#: Undated lists: no delta endpoint exists, so they are re-read in full (1 + collections + 2 x listings
#: requests), every run or every ``collection_refresh_days``.
COLLECTION_FAMILY = ("collections", "collection_listings", "collection_listing_users",
                     "collection_listing_teams")


def select_resources(resources: list[str] | str | None) -> list[str]:
    """Validates resource names and returns them in endpoint-table order.

    ``module_details`` follows ``modules`` (its ids come from the modules pages), so selecting it adds
    ``modules``.

    Raises:
        LitmosConfigError: A name is not a known resource.
    """
    if resources is None or resources == "" or resources == []:
        return list(ENDPOINTS)
    if isinstance(resources, str):
        resources = [r for r in resources.split(",")]
    names = [r.strip() for r in resources if r and r.strip()]
    unknown = [r for r in names if r not in ENDPOINTS]
    if unknown:
        raise LitmosConfigError(
            f"unknown resource {', '.join(map(repr, unknown))}; choose from: {', '.join(ENDPOINTS)}"
        )
    chosen = set(names)
    if "module_details" in chosen and "modules" not in chosen:
        log.info("module_details follows modules: adding the modules resource")
        chosen.add("modules")
    return [t for t in ENDPOINTS if t in chosen]


def refreshed_from_state(source_state: dict[str, Any] | None) -> dict[str, datetime | None]:
    """Reads when each collection-family table was last read in full (None = never)."""
    raw = (source_state or {}).get(STATE_REFRESHED, {}) or {}
    return {t: datetime.fromisoformat(raw[t]).astimezone(timezone.utc) if raw.get(t) else None
            for t in COLLECTION_FAMILY}


def family_due(refreshed: dict[str, datetime | None], tables: list[str], server_now: datetime,
               every_days: int) -> bool:
    """Whether this run reads the collection family: ``every_days`` 0 = every run, else when the
    oldest selected family table was last read ``every_days`` or more UTC days ago (by date, so a
    weekly refresh happens on the same weekday whatever the run's time of day)."""
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


def session_state(source_state: dict[str, Any] | None) -> dict[str, Any]:
    """Everything a :class:`SyncSession` reads from the dlt source state, as its keyword arguments:
    cursors, bounded-backfill progress, last full reads of the collection family, and what the last
    runs measured for planning (rows per day, the family's request count)."""
    state = source_state or {}
    raw = state.get(STATE_ROWS_PER_DAY, {}) or {}
    family = state.get(STATE_FAMILY_REQUESTS)
    return {"cursors": cursors_from_state(state), "backfills": dict(state.get(STATE_BACKFILLS, None) or {}),
            "refreshed": refreshed_from_state(state),
            "rows_per_day": {t: float(v) for t, v in raw.items() if isinstance(v, (int, float))},
            "family_requests": int(family) if isinstance(family, (int, float)) else None,
            "covered": dict(state.get(STATE_COVERED, None) or {})}


def cursors_from_state(source_state: dict[str, Any] | None) -> dict[str, datetime | None]:
    """Reads the stored cursors (ISO strings in the dlt source state) as UTC datetimes."""
    raw = (source_state or {}).get(STATE_CURSORS, {}) or {}
    out: dict[str, datetime | None] = {}
    for table, endpoint in ENDPOINTS.items():
        value = raw.get(table)
        out[table] = datetime.fromisoformat(value).astimezone(timezone.utc) if value else None
    return out


@dataclass
class BatchWork:
    """The submitted futures of one batch."""

    index: int
    total: int
    delta: dict[str, list[int]] = field(default_factory=dict)  # window positions per table
    since: dict[str, Future] = field(default_factory=dict)
    family: Future | None = None
    details: Future | None = None


class SyncSession:
    """Plans and fetches one run; see the module docstring.

    Args:
        client: HTTP client carrying the shared rate budget.
        server_now: The server's clock at the start of the run (HTTP ``Date``).
        cursors: Stored cursor per table (None = never loaded).
        resources: Validated table names to load.
        start_date: Start without a cursor (default one year before ``server_now``); with ``end_date``
            the start of a bounded backfill.
        end_date: Inclusive last day of a bounded backfill; cursors are then left alone.
        lookback_days: Days re-read before each cursor.
        page_limit: Records per page requested.
        max_workers: Concurrent requests in flight.
        windows_per_batch: Windows of every delta resource per committed batch (None = one batch).
        emit: Serialised event callback, or None.
        backfills: Stored progress of bounded backfills per table (``done_to`` of the same range).
        rows_per_item: Most rows per table handed to dlt for a delta resource (pages are combined
            up to it; a single page larger than it is handed over alone); None = ``ROWS_PER_ITEM``.
        refreshed: When each collection-family table was last read in full (``refreshed_from_state``).
        collection_refresh_days: Read the collection family every run (0) or only when its last full
            read is this many UTC days old; skipped tables keep their rows and are in ``skipped``.
        store_login_keys: Load ``LoginKey`` (a per-user login credential) instead of NULL.
        rows_per_day: Rows per day each delta resource read last time (``STATE_ROWS_PER_DAY``).
        family_requests: Requests of the last full read of the collection family, if known.
        first_start: Where resources without a cursor start (None: ``start_date``, else one year
            back); the achievements feed is then read whole (no ``since``) unless ``start_date`` is set.
        history: A history walk instead of a nightly run: per delta table ``(bound, top)``, the
            windows from ``top`` back to ``bound``, newest first; each loaded window moves the table's
            ``covered_from`` down to its ``since``. Nothing else is read.
        resync: Tables re-read into their shadow copy (``<table>__resync``) in this run: per table
            ``{"id", "bound", "cursor"}`` (see pipelines/history.py, which swaps them in).
        covered: Each table's ``covered_from`` as stored (None = unknown); a table starting without a
            cursor records its first window's ``since`` there.
        clock_trusted: False when ``server_now`` is the local clock (the server sent no ``Date``):
            cursors then advance no further than the newest change read (``newest_seen`` and on).
        newest_seen: The newest cursor value known before this session (stored cursors).
        since_whole: ``since`` resources to read whole (no ``since``): a warehouse whose feed was read
            from a later date only (the old one-year default, or a partial history now completed).
        history_choice: The history start to remember in the state (``history_start``): an ISO date
            the user chose (``--start-date`` / ``history_start``), "" for the discovered bound, None
            to leave the stored value alone.
    """

    def __init__(self, client: LitmosClient, *, server_now: datetime, cursors: dict[str, datetime | None],
                 resources: list[str], start_date: datetime | None = None, end_date: datetime | None = None,
                 lookback_days: float = 1, page_limit: int = 1000, max_workers: int = 8,
                 windows_per_batch: int | None = None, emit: Callable[[Any], None] | None = None,
                 backfills: dict[str, Any] | None = None, rows_per_item: int | None = None,
                 refreshed: dict[str, datetime | None] | None = None, collection_refresh_days: int = 0,
                 store_login_keys: bool = False, rows_per_day: dict[str, float] | None = None,
                 family_requests: int | None = None, first_start: datetime | None = None,
                 history: dict[str, tuple[datetime, datetime]] | None = None,
                 resync: dict[str, dict[str, Any]] | None = None, covered: dict[str, Any] | None = None,
                 history_choice: str | None = None, since_whole: set[str] | frozenset[str] = frozenset(),
                 clock_trusted: bool = True, newest_seen: datetime | None = None) -> None:
        if lookback_days < 0:
            raise LitmosConfigError(f"bad lookback_days {lookback_days}: use 0 or more days")
        if collection_refresh_days is None or collection_refresh_days < 0:
            raise LitmosConfigError(
                f"bad collection_refresh_days {collection_refresh_days!r}: use 0 (every run) or a number of days")
        self.client = client
        self.server_now = server_now
        self.resources = resources
        self.backfill = end_date is not None
        self.fetcher = Fetcher(client, page_limit, emit, store_login_keys=store_login_keys)
        self.cursors_before = {t: cursors.get(t) for t in resources}
        self.executor = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="litmos-fetch")
        # Chain tasks wait on fetch futures; a separate pool means they can never starve the fetchers.
        self.chain_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="litmos-chain")
        self._seen_modules: set[str] = set()
        self._futures: dict[str, dict[int, Any]] = {t: {} for t in resources}
        self.ahead = max(2, max_workers // 2)  # windows of one resource in flight at once
        # Streamed windows block on their page queue until dlt reads them, so each gets its own thread
        # (never a fetch-pool worker another window waits for); the gate bounds requests in flight.
        # At most 2 * ahead windows of a resource are submitted and unfinished at once (``ahead`` from
        # the one being read, plus the next batch's first ``ahead`` submitted before this one loads).
        self.fetcher.gate = PriorityGate(max(1, max_workers))
        streamed = [t for t in resources if ENDPOINTS[t].kind == "delta" and t != "modules"]
        self.stream_executor = ThreadPoolExecutor(max_workers=max(1, 2 * self.ahead * len(streamed)),
                                                  thread_name_prefix="litmos-stream")
        self._seen_lock = threading.Lock()
        self._shared_cond = threading.Condition()
        self._shared_pages = 0  # pages queued in SHARED_PAGES_AHEAD slots

        default_start = start_date or first_start or (server_now - timedelta(days=DEFAULT_HISTORY_DAYS))
        if end_date is not None and end_date < default_start:
            raise LitmosConfigError(
                f"bad end_date {end_date:%Y-%m-%d}: it is before the start date {default_start:%Y-%m-%d}"
            )
        end = run_end(server_now, end_date)
        # A bounded backfill records how far it got per table, so rerunning the same command resumes.
        self.backfill_range = f"{default_start:%Y-%m-%d}..{end:%Y-%m-%d}" if self.backfill else None
        self.history_mode = history is not None
        self.resync = {t: dict(v) for t, v in (resync or {}).items() if t in resources}
        self.covered = dict(covered or {})
        self.history_choice = history_choice
        self.rejected: list[Any] = []  # quarantined records committed to _litmos_rejects so far
        self.clock_from_data = not clock_trusted
        self.newest_seen = newest_seen
        self.windows: dict[str, list[Window]] = {}
        self.since: dict[str, datetime | None] = {}
        for table in resources:
            endpoint = ENDPOINTS[table]
            cursor = None if self.backfill else cursors.get(table)
            if self.history_mode:
                if endpoint.kind == "delta" and table in history:
                    bound, top = history[table]
                    self.windows[table] = plan_windows_back(bound, top)
                    self.fetcher.counter(table).windows_total = len(self.windows[table])
                continue
            if endpoint.kind == "delta":
                if table in self.resync:
                    entry = self.resync[table]
                    begin = datetime.fromisoformat(entry.get("cursor") or entry["bound"])
                    start = begin if not entry.get("cursor") else start_for(begin, begin, lookback_days)
                    self.windows[table] = plan_windows(start, end, role="resync")
                else:
                    start = start_for(cursor, default_start, lookback_days)
                    progress = (backfills or {}).get(table) or {}
                    if self.backfill and progress.get("range") == self.backfill_range and progress.get("done_to"):
                        start = datetime.fromisoformat(progress["done_to"])
                    self.windows[table] = plan_windows(start, end, role="backfill" if self.backfill else "cursor")
                self.fetcher.counter(table).windows_total = len(self.windows[table])
            elif endpoint.kind == "since":
                if table in self.resync or (table in since_whole and not self.backfill):
                    self.since[table] = None  # the whole feed
                elif cursor is None and start_date is None and not self.backfill and first_start is not None:
                    self.since[table] = None  # a first sync reads the whole feed: no ``since``
                else:
                    self.since[table] = start_for(cursor, default_start, lookback_days)
                self.fetcher.counter(table).windows_total = 1
        if self.history_mode:  # module_details follows the modules pages the walk reads
            resources = [t for t in resources
                         if t in self.windows or (t == "module_details" and "modules" in self.windows)]
            self.resources = resources
        self.refresh_family = not self.history_mode and family_due(refreshed or {}, resources, server_now,
                                                                   collection_refresh_days)
        self.skipped = [] if self.refresh_family else [t for t in resources if t in COLLECTION_FAMILY]
        if self.skipped:
            log.info("collection family read in full every %d day(s); not due yet: %s unchanged",
                     collection_refresh_days, ", ".join(self.skipped))
        for table in resources:
            if ENDPOINTS[table].kind in ("full", "child") and table not in self.skipped:
                self.fetcher.counter(table).windows_total = 1
        self._split_long_chains(rows_per_day or {}, family_requests or 0, page_limit)
        longest = max((len(w) for w in self.windows.values()), default=0)
        per_batch = windows_per_batch if windows_per_batch and windows_per_batch > 0 else max(longest, 1)
        self.per_batch = per_batch
        self.reading_batch = 0
        # Every modules window of a batch is submitted at once (module_details needs them all); their
        # own threads keep a fetched-ahead batch's windows, waiting for spare budget, from occupying
        # the fetch pool that the batch being read needs for module_details and the undated lists.
        self.modules_executor = ThreadPoolExecutor(max_workers=max(1, 2 * per_batch),
                                                   thread_name_prefix="litmos-modules")
        self.rows_per_item = rows_per_item or ROWS_PER_ITEM
        self.batches_total = max(1, math.ceil(longest / per_batch))

    # -- planning -----------------------------------------------------------------------------------

    def _split_long_chains(self, rows_per_day: dict[str, float], family_requests: int, page_limit: int) -> None:
        """Re-plans in one-day windows the resources whose page chain would outlast the rate budget.

        A window's pages form a chain (each ``start`` is the previous page's row count), so a big org's
        3-day nightly window of 30 pages of course results takes a minute at 2 s a page whatever the
        budget. When a resource's expected chain (its largest window's pages, from the rows per day it
        read last time, times ``PAGE_SECONDS`` plus one token's wait) is longer than the whole run's
        expected requests take at the rate budget, that chain and not the budget would set the pace:
        its one-day windows run side by side instead, for at most one more request per extra window
        (its last, partly filled page).
        """
        def pages(table: str, window: Window) -> int:
            return int(rows_per_day.get(table, 0.0) * self._days_read(window.since, window.to) // page_limit) + 1

        expected = {t: [pages(t, w) for w in ws] for t, ws in self.windows.items() if ws}
        self.expected_pages = dict(expected)
        for table, since in self.since.items():  # one "window" from since to now
            since = since or self.server_now - timedelta(days=DEFAULT_HISTORY_DAYS)  # the whole feed
            self.expected_pages[table] = [pages(table, Window(since, self.server_now))]
        total = sum(map(sum, self.expected_pages.values())) + (family_requests if self.refresh_family else 0)
        limiter = getattr(self.client, "limiter", None)
        rate = getattr(limiter, "rate", 0.0) or 0.0  # requests per second; 0 = unlimited
        floor_s = total / rate if rate > 0 else 0.0
        # Each page of a chain also waits for its token (priority puts it first in line, but not sooner).
        per_page_s = PAGE_SECONDS + (1 / rate if rate > 0 else 0.0)
        for table, counts in expected.items():
            longest = max(counts)
            if longest >= 2 and longest * per_page_s > floor_s:
                windows = self.windows[table]
                role = windows[0].role
                if role == "history":  # newest first
                    self.windows[table] = plan_windows_back(windows[-1].since, windows[0].to, max_days=1)
                else:
                    self.windows[table] = plan_windows(windows[0].since, windows[-1].to, max_days=1, role=role)
                self.fetcher.counter(table).windows_total = len(self.windows[table])
                self.expected_pages[table] = [pages(table, w) for w in self.windows[table]]
                log.info("%s: about %d pages per window, longer than the run at the rate budget (%.0f s): "
                         "one-day windows", table, longest, floor_s)

    def _days_read(self, since: datetime, to: datetime) -> float:
        """Days of ``[since, to]`` that lie before the server's now (what a request for it can return)."""
        return max(0.0, (min(to, self.server_now) - since).total_seconds() / 86400)

    def cursor_after(self, window: Window) -> datetime:
        """The cursor after ``window`` is loaded: its end, capped at the server's now (and, when that is
        only the local clock, at the newest change read: the one instant known to have passed there)."""
        if self.clock_from_data:
            return min(window.to, self.server_now, self.newest_seen or window.since)
        return min(window.to, self.server_now)

    def _see(self, table: str, page: pa.Table) -> None:
        column = ENDPOINTS[table].cursor
        if not column or column not in page.column_names or page.num_rows == 0:
            return
        newest = pc.max(page.column(column)).as_py()
        if newest is not None:
            newest = newest.replace(tzinfo=timezone.utc) if newest.tzinfo is None else newest
            with self._seen_lock:
                self.newest_seen = max(self.newest_seen or newest, newest)

    def _submit_window(self, table: str, position: int) -> None:
        windows = self.windows[table]
        if position < len(windows) and position not in self._futures[table]:
            if table == "modules":  # module_details reads the modules pages of a whole batch
                self._futures[table][position] = self.modules_executor.submit(
                    self.fetcher.fetch_window, ENDPOINTS[table], windows[position], position, len(windows),
                    priority=self._priority(table, position))
                return
            pages: queue.Queue = queue.Queue()  # bounded by _put
            self._futures[table][position] = (pages, self.stream_executor.submit(
                self._stream_window, table, position, pages))

    def _priority(self, table: str, position: int) -> Callable[[int], int]:
        """Request priority of window ``position``: the length of its chain of pages, i.e. the pages it
        is expected to hold (from the rows per day its resource read last time) or, once more, the pages
        read so far; so the longest chains go first and the run ends when the budget is spent, not a
        minute later on one chain. Handicapped while its batch is ahead of the one being read."""
        batch = position // self.per_batch
        expected = self.expected_pages.get(table, [])
        length = expected[position] if position < len(expected) else 1

        def priority(pages: int) -> int:
            return max(length, pages) - (_PREFETCH_HANDICAP if batch > self.reading_batch else 0)

        return priority

    def _put(self, pages: queue.Queue, item: Any, page: bool = True) -> None:
        """Queues ``item`` as ``(item, shared)``: a page within the window's own PAGES_AHEAD, else in a
        free slot of SHARED_PAGES_AHEAD, else once the reader has taken one. The end marker never waits.

        The window being read can always go on (the reader frees its own allowance), so no wait here
        can block the reader.
        """
        while page:
            if self.fetcher.cancelled.is_set():
                raise Cancelled("run cancelled")
            if pages.qsize() < PAGES_AHEAD:
                break
            with self._shared_cond:
                if self._shared_pages < SHARED_PAGES_AHEAD:
                    self._shared_pages += 1
                    pages.put((item, True))
                    return
                self._shared_cond.wait(0.2)
        pages.put((item, False))

    def _release_shared(self) -> None:
        with self._shared_cond:
            self._shared_pages -= 1
            self._shared_cond.notify()

    def _stream_window(self, table: str, position: int, pages: queue.Queue) -> None:
        windows = self.windows[table]
        try:
            self.fetcher.fetch_window(ENDPOINTS[table], windows[position], position, len(windows),
                                      on_page=lambda page: self._put(pages, page),
                                      priority=self._priority(table, position))
            item: Any = _END
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            item = exc
        self._put(pages, item, page=False)

    def _window_future(self, table: str, position: int) -> Any:
        """The future (modules) or (page queue, future) of one window, keeping ``ahead`` windows of
        this resource in flight.

        Submitting lazily bounds memory (``PAGES_AHEAD`` pages per window plus ``SHARED_PAGES_AHEAD`` in
        all wait in RAM at most), and the
        windows submitted ahead across a batch boundary are the prefetch that overlaps loading.
        """
        for ahead in range(position, position + self.ahead):
            self._submit_window(table, ahead)
        return self._futures[table].pop(position)

    def _window_pages(self, table: str, position: int) -> Iterator[pa.Table | None]:
        entry = self._window_future(table, position)
        if isinstance(entry, Future):
            yield from _until_done(entry)
            yield from entry.result()
            return
        pages, future = entry
        while True:
            try:
                item, shared = pages.get_nowait()
            except queue.Empty:
                yield NOT_READY
                continue
            if shared:
                self._release_shared()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
        future.result()

    def submit(self, index: int) -> BatchWork:
        """Starts batch ``index``: submits its first windows (all of them for modules) and returns it."""
        work = BatchWork(index, self.batches_total)
        lo, hi = index * self.per_batch, (index + 1) * self.per_batch
        # Interleave resources window by window so every resource advances at the same pace.
        for offset in range(self.per_batch):
            for table, windows in self.windows.items():
                position = lo + offset
                if position >= hi or position >= len(windows):
                    continue
                if offset < self.ahead or table == "modules":  # module_details waits on all of them
                    self._submit_window(table, position)
                work.delta.setdefault(table, []).append(position)
        last = index == self.batches_total - 1
        if last:
            for table, since in self.since.items():
                work.since[table] = self.executor.submit(
                    self.fetcher.fetch_window, ENDPOINTS[table], None, 0, 1,
                    {"since": format_api_date(since)} if since else {}, priority=self._priority(table, 0))
            if self.refresh_family:
                work.family = self.chain_executor.submit(self._fetch_collection_family)
        if "module_details" in self.resources and work.delta.get("modules"):
            futures = [self._futures["modules"][i] for i in work.delta["modules"]]
            work.details = self.chain_executor.submit(self._fetch_module_details, futures)
        return work

    def _fetch_collection_family(self) -> dict[str, list[pa.Table]]:
        """Collections, then their listings, then each listing's users and teams (full refresh)."""
        get = ENDPOINTS.__getitem__
        out: dict[str, list[pa.Table]] = {t: [] for t in COLLECTION_FAMILY}
        out["collections"] = self.executor.submit(
            self.fetcher.fetch_window, get("collections"), None).result()
        wanted = set(self.resources)
        if not wanted & set(COLLECTION_FAMILY[1:]):
            return out
        collection_ids = _ids(out["collections"])
        self.fetcher.counter("collection_listings").windows_total = len(collection_ids)
        listing_futures = [self.executor.submit(self.fetcher.fetch_window, get("collection_listings"), None,
                                                i, len(collection_ids), None, cid)
                           for i, cid in enumerate(collection_ids)]
        for future in listing_futures:
            out["collection_listings"].extend(future.result())
        listing_ids = _ids(out["collection_listings"])
        for table in ("collection_listing_users", "collection_listing_teams"):
            self.fetcher.counter(table).windows_total = len(listing_ids)
        children = [t for t in ("collection_listing_users", "collection_listing_teams") if t in wanted]
        futures = [(t, self.executor.submit(self.fetcher.fetch_window, get(t), None, i, len(listing_ids),
                                            None, lid))
                   for t in children for i, lid in enumerate(listing_ids)]
        for table, future in futures:
            out[table].extend(future.result())
        return out

    def _fetch_module_details(self, module_futures: list[Future]) -> list[pa.Table]:
        """GET /modules/{id} for every SCORM/Tin Can module seen in this batch's module pages."""
        ids: list[str] = []
        for future in module_futures:
            for table in future.result():
                for module_id in _elearning_ids(table):
                    with self._seen_lock:
                        if module_id in self._seen_modules:
                            continue
                        self._seen_modules.add(module_id)
                    ids.append(module_id)
        endpoint = ENDPOINTS["module_details"]
        futures = [self.executor.submit(self.fetcher.fetch_detail, endpoint, i) for i in ids]
        return [t for t in (f.result() for f in futures) if t is not None and t.num_rows]

    # -- dlt resources ------------------------------------------------------------------------------

    def resources_for(self, work: BatchWork) -> list[Any]:
        """Returns the dlt resources of a submitted batch (only resources with work in it)."""
        items = self.items_for(work)
        running = set(items)

        def tracked(table: str, pages: Iterator[pa.Table | None]) -> Iterator[pa.Table | None]:
            try:
                yield from pages
            finally:
                running.discard(table)

        resources = [_resource(ENDPOINTS[table], tracked(table, pages),
                               table_name=table + RESYNC_SUFFIX if table in self.resync else None)
                     for table, pages in items.items()]
        # Records that could not be decoded, kept raw: drained once the batch's resources have run, so
        # they are committed with the batch's rows and cursors.
        resources.append(rejects_resource(self._drain_rejects, ready=lambda: not running))
        return resources

    def _drain_rejects(self) -> list[Any]:
        found = list(self.fetcher.drain_rejects())
        self.rejected.extend(found)
        return found

    def items_for(self, work: BatchWork) -> dict[str, Iterator[pa.Table | None]]:
        """The page iterators of a submitted batch by table (only tables with work in it).

        They yield ``NOT_READY`` (None, which dlt skips) while a page is still being fetched. From
        now on this batch's requests go before those of batches fetched ahead.

        The iterators are generators: nothing runs until they are iterated, and the cursor updates
        they make need an active dlt source state (inside extraction).
        """
        self.reading_batch = max(self.reading_batch, work.index)
        out: dict[str, Iterator[pa.Table]] = {}
        for table, items in work.delta.items():
            out[table] = self._delta_items(table, items)
        for table, future in work.since.items():
            out[table] = self._since_items(table, future)
        if work.family is not None:
            for table in COLLECTION_FAMILY:
                if table in self.resources:
                    out[table] = self._family_items(table, work.family)
        if work.details is not None:
            out["module_details"] = _future_items("module_details", work.details)
        return out

    def _delta_items(self, table: str, positions: list[int]) -> Iterator[pa.Table | None]:
        if not self.history_mode:  # (a walk's tables exist: an empty one then costs no load job)
            yield _empty(table)  # creates the table (all typed columns) even when no row ever arrives
        self._remember_history_choice()
        self._forget_finished_resync(table)
        last = self.windows[table][-1]
        pending = _PageBuffer(self.rows_per_item)
        rows, days = 0, 0.0
        for position in positions:
            window = self.windows[table][position]
            for page in self._window_pages(table, position):
                if page is NOT_READY:
                    yield NOT_READY
                else:
                    rows += page.num_rows
                    if self.clock_from_data:
                        self._see(table, page)
                    yield from pending.add(page)
            days += self._days_read(window.since, window.to)
            # State changes are committed with this batch's rows by pipeline.run (same load package), so
            # moving the cursor while the window's last rows still wait in ``pending`` is safe: both reach
            # dlt before this generator ends, or the extraction fails and neither is committed.
            self._mark_loaded(table, window, position, last)
        if self.history_mode or table in self.resync:
            pass  # old windows are sparser than today's: they would misguide the nightly's plan
        else:
            _set_rows_per_day(table, rows, days)
        yield from pending.flush()

    def _mark_loaded(self, table: str, window: Window, position: int, last: Window) -> None:
        """Moves the state mark that ``window``'s role says it proves (see ``Window.role``)."""
        if window.role == "cursor":
            _set_cursor(table, self.cursor_after(window))
            state = dlt.current.source_state().setdefault(STATE_COVERED, {})
            if position == 0 and self.cursors_before.get(table) is None and not state.get(table):
                state[table] = window.since.isoformat()  # a table starting from scratch holds it all
        elif window.role == "history":
            _set_covered(table, window.since)
        elif window.role == "resync":
            self._resync_progress(table, self.cursor_after(window), done=window == last)
        else:
            _set_backfill(table, self.backfill_range, None if window == last else window.to)

    def _resync_progress(self, table: str, cursor: datetime, done: bool) -> None:
        """Records how far ``table``'s re-read got; when ``done`` its cursor and lower edge become the
        copy's, committed with the copy's last rows, and the swap follows (pipelines/history.py)."""
        entry = dict(self.resync[table], cursor=cursor.astimezone(timezone.utc).isoformat())
        if done:
            entry["done"] = True
            _set_cursor(table, cursor)
            _set_covered(table, datetime.fromisoformat(entry["bound"]) if ENDPOINTS[table].kind == "delta"
                         else WHOLE_FEED)
        dlt.current.source_state().setdefault(STATE_RESYNC, {})[table] = entry

    def _forget_finished_resync(self, table: str) -> None:
        # sync() swaps every finished copy in before it opens a session, so its entry can go.
        if table not in self.resync:
            entries = dlt.current.source_state().get(STATE_RESYNC) or {}
            if (entries.get(table) or {}).get("done"):
                entries.pop(table, None)

    def _remember_history_choice(self) -> None:
        if self.history_choice is None:
            return
        state = dlt.current.source_state()
        if self.history_choice:
            state[STATE_HISTORY_START] = self.history_choice
        else:
            state.pop(STATE_HISTORY_START, None)

    def _family_items(self, table: str, future: Future) -> Iterator[pa.Table | None]:
        yield from _future_items(table, future, key=table)
        state = dlt.current.source_state()
        state.setdefault(STATE_REFRESHED, {})[table] = self.server_now.astimezone(timezone.utc).isoformat()
        # the future covers the whole family, so its requests are all counted by now
        requests = self.client.counters.requests if hasattr(self.client, "counters") else {}
        state[STATE_FAMILY_REQUESTS] = sum(requests.get(t, 0) for t in COLLECTION_FAMILY)

    def _since_items(self, table: str, future: Future) -> Iterator[pa.Table | None]:
        yield from _future_items(table, future)
        self._forget_finished_resync(table)
        since = self.since[table]
        if table in self.resync:
            self._resync_progress(table, self.server_now, done=True)
            return
        if since is not None:
            _set_rows_per_day(table, sum(t.num_rows for t in future.result()),
                              self._days_read(since, self.server_now))
        if not self.backfill:
            now = self.server_now
            if self.clock_from_data:  # the local clock may run ahead: no further than what was read
                for page in future.result():
                    self._see(table, page)
                now = min(now, self.newest_seen or since or now)
            _set_cursor(table, now)
            if since is None:
                _set_covered(table, WHOLE_FEED)
            elif self.cursors_before.get(table) is None:
                _set_covered(table, since)

    def close(self, cancel: bool = False) -> None:
        """Stops the pools; with ``cancel`` queued requests are dropped and running ones stop early."""
        if cancel:
            self.fetcher.cancelled.set()
            stop_client = getattr(self.client, "cancel", None)
            if callable(stop_client):  # wakes requests waiting for budget or sleeping in a backoff
                stop_client()
        # Fetch pool first: cancelled fetches release the chain tasks waiting on them.
        self.stream_executor.shutdown(wait=True, cancel_futures=cancel)
        self.modules_executor.shutdown(wait=True, cancel_futures=cancel)
        self.executor.shutdown(wait=True, cancel_futures=cancel)
        self.chain_executor.shutdown(wait=True, cancel_futures=cancel)
        close_http = getattr(self.client, "close", None)  # the client's pooled HTTP connections
        if callable(close_http):
            close_http()


class _PageBuffer:
    """Combines consecutive pages of one resource into tables of up to ``max_rows`` rows.

    ``pa.concat_tables`` only links the pages' column chunks (no copy), so a combined table costs no
    more memory than its pages. Pages may differ in their undocumented extra columns: schemas are
    unified by column name and a column missing from a page is null in its rows.
    """

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max(1, max_rows)
        self.pages: list[pa.Table] = []
        self.rows = 0

    def add(self, page: pa.Table) -> Iterator[pa.Table]:
        """Buffers ``page``, first yielding what is buffered when ``page`` would pass ``max_rows``."""
        if self.pages and self.rows + page.num_rows > self.max_rows:
            yield from self.flush()
        self.pages.append(page)
        self.rows += page.num_rows
        if self.rows >= self.max_rows:
            yield from self.flush()

    def flush(self) -> Iterator[pa.Table]:
        """Yields the buffered pages as one table (nothing when empty) and empties the buffer."""
        pages, self.pages, self.rows = self.pages, [], 0
        if len(pages) == 1:
            yield pages[0]
        elif pages:
            yield pa.concat_tables(pages, promote_options="default")


def _set_rows_per_day(table: str, rows: int, days: float) -> None:
    if days >= 1:  # a few hours are too few to say how dense a resource is
        dlt.current.source_state().setdefault(STATE_ROWS_PER_DAY, {})[table] = round(rows / days, 1)


def _set_cursor(table: str, value: datetime) -> None:
    cursors = dlt.current.source_state().setdefault(STATE_CURSORS, {})
    cursors[table] = value.astimezone(timezone.utc).isoformat()


def _set_covered(table: str, value: datetime) -> None:
    covered = dlt.current.source_state().setdefault(STATE_COVERED, {})
    covered[table] = value.astimezone(timezone.utc).isoformat()


def _set_backfill(table: str, range_key: str, done_to: datetime | None) -> None:
    backfills = dlt.current.source_state().setdefault(STATE_BACKFILLS, {})
    if done_to is None:
        backfills.pop(table, None)  # finished: the same command later runs in full again
    else:
        backfills[table] = {"range": range_key, "done_to": done_to.isoformat()}


def _empty(table: str) -> pa.Table:
    return arrow_schema(ENDPOINTS[table]).empty_table()


def _future_items(table: str, future: Future, key: str | None = None) -> Iterator[pa.Table | None]:
    """The typed empty table, NOT_READY until ``future`` is done, then its pages (``result[key]``
    when the future fetched several tables)."""
    yield _empty(table)
    yield from _until_done(future)
    result = future.result()
    yield from result[key] if key is not None else result


def _resource(endpoint: Endpoint, items: Iterator[pa.Table] | Callable[[], Iterator[pa.Table]],
              table_name: str | None = None) -> Any:
    """Wraps pages as the endpoint's dlt resource with its keys and disposition.

    ``items`` is an iterator of pages, or a parameterless generator function that dlt calls when it
    extracts (a fresh generator per extraction). ``table_name`` loads them elsewhere (a re-sync's
    shadow copy) with the same keys and types.
    """
    if endpoint.kind in ("full", "child"):
        return dlt.resource(items, name=endpoint.table, table_name=table_name or endpoint.table,
                            write_disposition="replace")
    columns = {endpoint.cursor: {"dedup_sort": "desc"}} if endpoint.cursor else None
    return dlt.resource(
        items,
        name=endpoint.table,
        table_name=table_name or endpoint.table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(endpoint.primary_key),
        columns=columns,
    )


def _ids(tables: list[pa.Table], column: str = "id") -> list[str]:
    seen: dict[str, None] = {}
    for table in tables:
        for value in table.column(column).to_pylist():
            if value:
                seen.setdefault(value, None)
    return list(seen)


def _elearning_ids(table: pa.Table) -> list[str]:
    if table.num_rows == 0 or "module_type" not in table.column_names:
        return []
    kind = pc.utf8_lower(pc.replace_substring(table.column("module_type"), " ", ""))
    mask = pc.fill_null(pc.is_in(kind, value_set=pa.array(sorted(ELEARNING_MODULE_TYPES))), False)
    return [v for v in table.filter(mask).column("id").to_pylist() if v]
