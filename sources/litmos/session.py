"""One extraction run: the plan, the batches of windows, the requests in flight, the dlt resources.

A :class:`SyncSession` plans every selected resource's windows from its cursor (plan.py), splits them
into batches (``windows_per_batch`` windows of every delta resource per batch) and submits each batch's
windows to its pools (concurrency.py). Every request passes the client's shared rate budget in priority
order: the longest chains of pages first, the batch dlt is reading before the batch fetched ahead.
:meth:`resources_for` turns one submitted batch into dlt resources (resources.py), so ``pipeline.run``
commits data and cursors of a batch together.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from . import resources as dlt_resources
from .children import ModuleDetails, fetch_collection_family
from .client import LitmosClient
from .concurrency import Pools
from .fetch import Fetcher
from .plan import plan_run
from .settings import ENDPOINTS
from .windows import Window, format_api_date

# Priority handicap of a request for a batch that is not being read yet: those windows are fetched
# ahead only with the budget the batch being read leaves unused (its last pages and its load), so
# requests keep flowing across batch boundaries without delaying the batch dlt is waiting for.
_PREFETCH_HANDICAP = 1_000_000


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

    ``start_date``, ``end_date``, ``lookback_days``, ``page_limit``, ``max_workers``,
    ``windows_per_batch``, ``collection_refresh_days`` and ``store_login_keys`` mean what they mean in
    :class:`~sources.litmos.options.LitmosOptions`; the state values (``cursors``, ``backfills``,
    ``refreshed``, ``rows_per_day``, ``family_requests``, ``covered``) are :func:`state.session_state`'s.

    Args:
        client: HTTP client carrying the shared rate budget and the run's stats.
        server_now: The server's clock at the start of the run (HTTP ``Date``).
        resources: Validated table names to load.
        emit: Serialised event callback, or None.
        rows_per_item: Most rows per table handed to dlt at once (None = ``ROWS_PER_ITEM``).
        first_start: Where resources without a cursor start (None: ``start_date``, else one year
            back); the achievements feed is then read whole (no ``since``) unless ``start_date`` is set.
        history: A history walk instead of a nightly run: per delta table ``(bound, top)``, the
            windows from ``top`` back to ``bound``, newest first; each loaded window moves the table's
            ``covered_from`` down to its ``since``. Nothing else is read.
        resync: Tables re-read into their shadow copy (``<table>__resync``): per table
            ``{"id", "bound", "cursor"}`` (pipelines/history.py swaps them in).
        clock_trusted: False when ``server_now`` is the local clock (no ``Date``): cursors then
            advance no further than the newest change read (``newest_seen`` and on).
        newest_seen: The newest cursor value known before this session (stored cursors).
        since_whole: ``since`` resources to read whole (their feed was read from a later date only).
        history_choice: The history start to remember (``history_start``): an ISO date the user
            chose, "" for the discovered bound, None to leave the stored value alone.
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
        self.client = client
        self.server_now = server_now
        self.backfill = end_date is not None
        self.history_mode = history is not None
        self.cursors_before = {t: cursors.get(t) for t in resources}
        self.resync = {t: dict(v) for t, v in (resync or {}).items() if t in resources}
        self.history_choice = history_choice
        self.rejected: list[Any] = []  # quarantined records committed to _litmos_rejects so far
        self.clock_from_data = not clock_trusted
        self.newest_seen = newest_seen
        self._seen_lock = threading.Lock()
        self.plan = plan_run(
            server_now=server_now, cursors=cursors, resources=resources, start_date=start_date,
            end_date=end_date, lookback_days=lookback_days, page_limit=page_limit,
            windows_per_batch=windows_per_batch, rate=getattr(client.limiter, "rate", 0.0) or 0.0,
            backfills=backfills, refreshed=refreshed, collection_refresh_days=collection_refresh_days,
            rows_per_day=rows_per_day, family_requests=family_requests, first_start=first_start,
            history=history, resync=self.resync, since_whole=since_whole)
        plan = self.plan
        self.resources, self.windows, self.since = plan.resources, plan.windows, plan.since
        self.expected_pages, self.skipped, self.refresh_family = plan.expected_pages, plan.skipped, plan.refresh_family
        self.backfill_range, self.per_batch, self.batches_total = plan.backfill_range, plan.per_batch, plan.batches_total
        self.rows_per_item = rows_per_item or dlt_resources.ROWS_PER_ITEM
        self.reading_batch = 0
        self.fetcher = Fetcher(client, page_limit, emit, store_login_keys=store_login_keys)
        self._count_windows()
        # ``ahead`` windows of a resource in flight from the one being read, plus the next batch's first
        # ``ahead`` submitted before this one loads: 2 * ahead streamed windows per resource at most.
        self.ahead = max(2, max_workers // 2)
        streamed = [t for t in resources if ENDPOINTS[t].kind == "delta" and t != "modules"]
        self.pools = Pools(max_workers, 2 * self.ahead * len(streamed), 2 * self.per_batch, self.fetcher.cancelled)
        self.fetcher.gate = self.pools.gate
        self.details = ModuleDetails(self.fetcher, self.pools.fetch)
        self._futures: dict[str, dict[int, Any]] = {t: {} for t in resources}

    def _count_windows(self) -> None:
        stats = self.client.stats
        for table, windows in self.windows.items():
            stats.count(table, windows_total=len(windows))
        for table in self.since:
            stats.count(table, windows_total=1)
        if self.refresh_family and "collections" in self.resources:
            stats.count("collections", windows_total=1)  # its children are counted once their parents are read

    def cursor_after(self, window: Window) -> datetime:
        """The cursor after ``window`` is loaded: its end, capped at the server's now (and, when that is
        only the local clock, at the newest change read: the one instant known to have passed there)."""
        if self.clock_from_data:
            return min(window.to, self.server_now, self.newest_seen or window.since)
        return min(window.to, self.server_now)

    def see(self, table: str, page: pa.Table) -> None:
        """Notes the newest change in ``page`` (cursors stop there when the clock is only local)."""
        column = ENDPOINTS[table].cursor
        if not column or column not in page.column_names or page.num_rows == 0:
            return
        newest = pc.max(page.column(column)).as_py()
        if newest is not None:
            newest = newest.replace(tzinfo=timezone.utc) if newest.tzinfo is None else newest
            with self._seen_lock:
                self.newest_seen = max(self.newest_seen or newest, newest)

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

    def _submit_window(self, table: str, position: int) -> None:
        windows = self.windows[table]
        if position >= len(windows) or position in self._futures[table]:
            return
        args = (ENDPOINTS[table], windows[position], position, len(windows))
        priority = self._priority(table, position)
        if table == "modules":  # module_details reads the modules pages of a whole batch
            self._futures[table][position] = self.pools.modules.submit(
                self.fetcher.fetch_window, *args, priority=priority)
        else:
            self._futures[table][position] = self.pools.stream(
                lambda on_page: self.fetcher.fetch_window(*args, on_page=on_page, priority=priority))

    def window_pages(self, table: str, position: int) -> Iterator[pa.Table | None]:
        """The pages of one window (NOT_READY while they are fetched), keeping ``ahead`` windows of
        this resource in flight: submitting lazily bounds memory, and the windows submitted ahead
        across a batch boundary are the prefetch that overlaps loading."""
        for ahead in range(position, position + self.ahead):
            self._submit_window(table, ahead)
        return self.pools.read(self._futures[table].pop(position))

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
        if index == self.batches_total - 1:
            for table, since in self.since.items():
                work.since[table] = self.pools.fetch.submit(
                    self.fetcher.fetch_window, ENDPOINTS[table], None, 0, 1,
                    {"since": format_api_date(since)} if since else {}, priority=self._priority(table, 0))
            if self.refresh_family:
                work.family = self.pools.chain.submit(fetch_collection_family, self.fetcher, self.pools.fetch,
                                                      set(self.resources))
        if "module_details" in self.resources and work.delta.get("modules"):
            futures = [self._futures["modules"][i] for i in work.delta["modules"]]
            work.details = self.pools.chain.submit(self.details.fetch, futures)
        return work

    def resources_for(self, work: BatchWork) -> list[Any]:
        """The dlt resources of a submitted batch (only resources with work in it), then its rejects."""
        return dlt_resources.batch_resources(self, work)

    def items_for(self, work: BatchWork) -> dict[str, Iterator[pa.Table | None]]:
        """The page generators of a submitted batch by table (see ``resources.batch_items``)."""
        return dlt_resources.batch_items(self, work)

    def close(self, cancel: bool = False) -> None:
        """Stops the pools; with ``cancel`` queued requests are dropped and running ones stop early."""
        if cancel:
            self.fetcher.cancelled.set()
            self.client.cancel()  # wakes requests waiting for budget or sleeping in a backoff
        self.pools.close(cancel)
        self.client.close()  # the client's pooled HTTP connections
