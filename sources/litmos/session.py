"""One extraction run: the plan (plan.py), its batches of windows, the requests in flight (concurrency.py).

Requests pass the rate budget in priority order: the longest chains of pages first, the batch dlt is
reading before the batch fetched ahead. A submitted batch becomes dlt resources (resources.py).
"""
from __future__ import annotations

import threading
from collections import Counter
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
from .settings import ENDPOINTS, PAGE_LIMIT
from .windows import Window, format_api_date

# Priority handicap of a batch not being read yet: fetched ahead only with the budget the batch being
# read leaves unused, so requests flow across batch boundaries without delaying the one dlt waits for.
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
    """Plans and fetches one run.

    Args:
        server_now: The server's clock at the start of the run (HTTP ``Date``).
        emit: Serialised event callback, or None.
        rows_per_item: Most rows per table handed to dlt at once (None = ``ROWS_PER_ITEM``).
        resync: Per table re-read into ``<table>__resync``, ``{"id", "bound", "cursor"}``.
        history_choice: The ``history_start`` to remember: an ISO date, "" for the discovered bound,
            None to leave it alone.
        clock_trusted: False when ``server_now`` is the local clock: cursors then advance no further
            than the newest change read (``newest_seen``, at first the newest stored cursor).
        covered: Accepted with the other :func:`state.session_state` values; unused.
        planning: :func:`~sources.litmos.plan.plan_run`'s arguments (``start_date``, ``history``...).
    """

    def __init__(self, client: LitmosClient, *, server_now: datetime, cursors: dict[str, datetime | None],
                 resources: list[str], max_workers: int = 8, emit: Callable[[Any], None] | None = None,
                 rows_per_item: int | None = None, store_login_keys: bool = False,
                 resync: dict[str, dict[str, Any]] | None = None, history_choice: str | None = None,
                 clock_trusted: bool = True, newest_seen: datetime | None = None, covered: Any = None,
                 **planning: Any) -> None:
        self.client = client
        self.server_now = server_now
        self.backfill = planning.get("end_date") is not None
        self.history_mode = planning.get("history") is not None
        self.cursors_before = {t: cursors.get(t) for t in resources}
        self.resync = {t: dict(v) for t, v in (resync or {}).items() if t in resources}
        self.history_choice = history_choice
        self.rejected: list[Any] = []  # quarantined records committed to _litmos_rejects so far
        self.clock_from_data = not clock_trusted
        self.newest_seen = newest_seen
        self._seen_lock = threading.Lock()
        self.plan = plan_run(server_now=server_now, cursors=cursors, resources=resources, resync=self.resync,
                             rate=getattr(client.limiter, "rate", 0.0) or 0.0, **planning)
        plan = self.plan
        self.resources, self.windows, self.since = plan.resources, plan.windows, plan.since
        self.expected_pages, self.skipped, self.refresh_family = plan.expected_pages, plan.skipped, plan.refresh_family
        self.backfill_range, self.per_batch, self.batches_total = plan.backfill_range, plan.per_batch, plan.batches_total
        self.rows_per_item = rows_per_item or dlt_resources.ROWS_PER_ITEM
        self.reading_batch = 0
        self.fetcher = Fetcher(client, planning.get("page_limit", PAGE_LIMIT), emit, store_login_keys=store_login_keys)
        self._count_windows()
        # ``ahead`` windows of a resource in flight from the one being read, plus the next batch's first
        # ``ahead`` submitted before this one loads: 2 * ahead streamed windows per resource at most.
        self.ahead = max(2, max_workers // 2)
        streamed = [t for t in resources if ENDPOINTS[t].kind == "delta" and t != "modules"]
        most = max((max(Counter(batches).values()) for batches in plan.batch_of.values() if batches), default=1)
        self.pools = Pools(max_workers, 2 * self.ahead * len(streamed), 2 * most, self.fetcher.cancelled)
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
        only the local clock, at the newest change read)."""
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
        """Request priority of window ``position``: its expected (or, once more, read) pages, so the
        longest chains go first; handicapped while its batch is ahead of the one being read."""
        batch = self.plan.batch_of[table][position] if table in self.plan.batch_of else self.plan.extras_batch
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
        """The pages of one window (NOT_READY while they are fetched), keeping ``ahead`` windows of this
        resource in flight: lazily, to bound memory; across a batch boundary, to overlap loading."""
        for ahead in range(position, position + self.ahead):
            self._submit_window(table, ahead)
        return self.pools.read(self._futures[table].pop(position))

    def submit(self, index: int) -> BatchWork:
        """Starts batch ``index``: submits its first windows (all of them for modules) and returns it."""
        work = BatchWork(index, self.batches_total)
        positions = {table: self.plan.positions(table, index) for table in self.windows}
        # Interleave resources window by window so every resource advances at the same pace.
        for offset in range(max(map(len, positions.values()), default=0)):
            for table, mine in positions.items():
                if offset >= len(mine):
                    continue
                if offset < self.ahead or table == "modules":  # module_details waits on all of them
                    self._submit_window(table, mine[offset])
                work.delta.setdefault(table, []).append(mine[offset])
        if index == self.plan.extras_batch:
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

    def fetching(self) -> bool:
        """Whether windows submitted so far still have requests to make (not held up by back-pressure)."""
        if self.pools.saturated():
            return False
        return any(not (entry if isinstance(entry, Future) else entry[1]).done()
                   for futures in self._futures.values() for entry in futures.values())

    def resources_for(self, work: BatchWork) -> list[Any]:
        return dlt_resources.batch_resources(self, work)

    def items_for(self, work: BatchWork) -> dict[str, Iterator[pa.Table | None]]:
        return dlt_resources.batch_items(self, work)

    def close(self, cancel: bool = False) -> None:
        """Stops the pools; with ``cancel`` queued requests are dropped and running ones stop early."""
        if cancel:
            self.client.cancel()  # also wakes requests waiting for budget or sleeping in a backoff
        self.pools.close(cancel)
        self.client.close()  # the client's pooled HTTP connections
