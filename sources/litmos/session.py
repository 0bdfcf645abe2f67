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
from .settings import ELEARNING_MODULE_TYPES, ENDPOINTS, MAX_WINDOW_DAYS, Endpoint
from .windows import Window, format_api_date, plan_windows, run_end, start_for

log = logging.getLogger(__name__)

STATE_CURSORS = "cursors"
STATE_BACKFILLS = "backfills"
# When each full-refresh table (the collection family) was last read in full, by the server's clock.
STATE_REFRESHED = "refreshed"
# Rows per day each delta resource read in its last batch: how dense its windows are (see _window_days).
STATE_ROWS_PER_DAY = "rows_per_day"
# A resource whose windows hold this many pages a day or more is read in one-day windows. Its pages come
# in a chain (each ``start`` is the previous page's count), so one 3-day nightly window of a big org's
# course results is 30+ requests one after the other: 1-3 s each, over a minute, while the rate budget
# sits idle. One-day windows run side by side; each extra window costs at most one request (its last,
# partly filled page), i.e. at most 1 in PAGES_PER_DAY_TO_SPLIT.
PAGES_PER_DAY_TO_SPLIT = 3
DEFAULT_HISTORY_DAYS = 365
# Pages of one window buffered ahead of dlt's extraction (back-pressure): memory is bounded by pages in
# flight, not by the size of a window (the newest windows of a long history hold the most rows).
PAGES_AHEAD = 4
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


def rows_per_day_from_state(source_state: dict[str, Any] | None) -> dict[str, float]:
    """Reads how many rows a day each delta resource read last time."""
    raw = (source_state or {}).get(STATE_ROWS_PER_DAY, {}) or {}
    return {t: float(v) for t, v in raw.items() if isinstance(v, (int, float))}


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
        rows_per_day: Rows per day each delta resource read last time (``STATE_ROWS_PER_DAY``); dense
            resources are planned in one-day windows.
    """

    def __init__(self, client: LitmosClient, *, server_now: datetime, cursors: dict[str, datetime | None],
                 resources: list[str], start_date: datetime | None = None, end_date: datetime | None = None,
                 lookback_days: float = 1, page_limit: int = 1000, max_workers: int = 8,
                 windows_per_batch: int | None = None, emit: Callable[[Any], None] | None = None,
                 backfills: dict[str, Any] | None = None, rows_per_item: int | None = None,
                 refreshed: dict[str, datetime | None] | None = None, collection_refresh_days: int = 0,
                 store_login_keys: bool = False, rows_per_day: dict[str, float] | None = None) -> None:
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

        default_start = start_date or (server_now - timedelta(days=DEFAULT_HISTORY_DAYS))
        if end_date is not None and end_date < default_start:
            raise LitmosConfigError(
                f"bad end_date {end_date:%Y-%m-%d}: it is before the start date {default_start:%Y-%m-%d}"
            )
        end = run_end(server_now, end_date)
        # A bounded backfill records how far it got per table, so rerunning the same command resumes.
        self.backfill_range = f"{default_start:%Y-%m-%d}..{end:%Y-%m-%d}" if self.backfill else None
        self.windows: dict[str, list[Window]] = {}
        self.since: dict[str, datetime] = {}
        for table in resources:
            endpoint = ENDPOINTS[table]
            cursor = None if self.backfill else cursors.get(table)
            if endpoint.kind == "delta":
                start = start_for(cursor, default_start, lookback_days)
                progress = (backfills or {}).get(table) or {}
                if self.backfill and progress.get("range") == self.backfill_range and progress.get("done_to"):
                    start = datetime.fromisoformat(progress["done_to"])
                days = _window_days((rows_per_day or {}).get(table), page_limit)
                self.windows[table] = plan_windows(start, end, max_days=days)
                self.fetcher.counter(table).windows_total = len(self.windows[table])
            elif endpoint.kind == "since":
                self.since[table] = start_for(cursor, default_start, lookback_days)
                self.fetcher.counter(table).windows_total = 1
        self.refresh_family = family_due(refreshed or {}, resources, server_now, collection_refresh_days)
        self.skipped = [] if self.refresh_family else [t for t in resources if t in COLLECTION_FAMILY]
        if self.skipped:
            log.info("collection family read in full every %d day(s); not due yet: %s unchanged",
                     collection_refresh_days, ", ".join(self.skipped))
        for table in resources:
            if ENDPOINTS[table].kind in ("full", "child") and table not in self.skipped:
                self.fetcher.counter(table).windows_total = 1
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

    def cursor_after(self, window: Window) -> datetime:
        """The cursor after ``window`` is loaded: its end, capped at the server's now."""
        return min(window.to, self.server_now)

    def _submit_window(self, table: str, position: int) -> None:
        windows = self.windows[table]
        if position < len(windows) and position not in self._futures[table]:
            if table == "modules":  # module_details reads the modules pages of a whole batch
                self._futures[table][position] = self.modules_executor.submit(
                    self.fetcher.fetch_window, ENDPOINTS[table], windows[position], position, len(windows),
                    priority=self._priority(position))
                return
            pages: queue.Queue = queue.Queue(maxsize=PAGES_AHEAD)
            self._futures[table][position] = (pages, self.stream_executor.submit(
                self._stream_window, table, position, pages))

    def _priority(self, position: int) -> Callable[[int], int]:
        """Request priority of window ``position``: pages read so far, handicapped while its batch
        is ahead of the one being read (checked at every request)."""
        batch = position // self.per_batch

        def priority(pages: int) -> int:
            return pages - (_PREFETCH_HANDICAP if batch > self.reading_batch else 0)

        return priority

    def _put(self, pages: queue.Queue, item: Any) -> None:
        while True:
            if self.fetcher.cancelled.is_set():
                raise Cancelled("run cancelled")
            try:
                pages.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _stream_window(self, table: str, position: int, pages: queue.Queue) -> None:
        windows = self.windows[table]
        try:
            self.fetcher.fetch_window(ENDPOINTS[table], windows[position], position, len(windows),
                                      on_page=lambda page: self._put(pages, page),
                                      priority=self._priority(position))
            item: Any = _END
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            item = exc
        try:
            self._put(pages, item)
        except Cancelled:
            pass

    def _window_future(self, table: str, position: int) -> Any:
        """The future (modules) or (page queue, future) of one window, keeping ``ahead`` windows of
        this resource in flight.

        Submitting lazily bounds memory (at most ``PAGES_AHEAD`` pages wait in RAM per window), and the
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
                item = pages.get_nowait()
            except queue.Empty:
                yield NOT_READY
                continue
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
                    {"since": format_api_date(since)})
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
        return [_resource(ENDPOINTS[table], items) for table, items in self.items_for(work).items()]

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
        yield _empty(table)  # creates the table (all typed columns) even when no row ever arrives
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
                    yield from pending.add(page)
            days += max(0.0, (min(window.to, self.server_now) - window.since).total_seconds() / 86400)
            # State changes are committed with this batch's rows by pipeline.run (same load package), so
            # moving the cursor while the window's last rows still wait in ``pending`` is safe: both reach
            # dlt before this generator ends, or the extraction fails and neither is committed.
            if not self.backfill:
                _set_cursor(table, self.cursor_after(window))
            else:
                _set_backfill(table, self.backfill_range, None if window == last else window.to)
        if days >= 1:  # a few hours are too few to say how dense a resource is
            density = dlt.current.source_state().setdefault(STATE_ROWS_PER_DAY, {})
            density[table] = round(rows / days, 1)
        yield from pending.flush()

    def _family_items(self, table: str, future: Future) -> Iterator[pa.Table | None]:
        yield from _future_items(table, future, key=table)
        refreshed = dlt.current.source_state().setdefault(STATE_REFRESHED, {})
        refreshed[table] = self.server_now.astimezone(timezone.utc).isoformat()

    def _since_items(self, table: str, future: Future) -> Iterator[pa.Table | None]:
        yield from _future_items(table, future)
        if not self.backfill:
            _set_cursor(table, self.server_now)

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


def _window_days(rows_per_day: float | None, page_limit: int) -> int:
    """Longest window of a delta resource: 1 day when it is dense (``PAGES_PER_DAY_TO_SPLIT``), else 7."""
    if rows_per_day is not None and rows_per_day >= PAGES_PER_DAY_TO_SPLIT * page_limit:
        return 1
    return MAX_WINDOW_DAYS


def _set_cursor(table: str, value: datetime) -> None:
    cursors = dlt.current.source_state().setdefault(STATE_CURSORS, {})
    cursors[table] = value.astimezone(timezone.utc).isoformat()


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


def _resource(endpoint: Endpoint, items: Iterator[pa.Table] | Callable[[], Iterator[pa.Table]]) -> Any:
    """Wraps pages as the endpoint's dlt resource with its keys and disposition.

    ``items`` is an iterator of pages, or a parameterless generator function that dlt calls when it
    extracts (a fresh generator per extraction).
    """
    if endpoint.kind in ("full", "child"):
        return dlt.resource(items, name=endpoint.table, table_name=endpoint.table, write_disposition="replace")
    columns = {endpoint.cursor: {"dedup_sort": "desc"}} if endpoint.cursor else None
    return dlt.resource(
        items,
        name=endpoint.table,
        table_name=endpoint.table,
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
