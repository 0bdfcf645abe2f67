"""The threads of one run: the pools that fetch windows, the page queues with back-pressure, the reader.

Not dlt's ``parallelized=True``: its round robin cannot let the batch being loaded go before the batch
fetched ahead (this scheme measured 1.02-1.17x the rate floor). The budget's priority gate and limiter
order the requests; the pools need only be wide enough that the budget, not latency, sets the pace.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pyarrow as pa

from .budget import PriorityGate
from .exceptions import Cancelled

# Pages of one window buffered ahead of dlt (back-pressure): memory is bounded by pages, not windows.
PAGES_AHEAD = 4
# Pages all windows together may buffer beyond their own PAGES_AHEAD, so the one-day windows of a split
# chain do not stop after 4 pages each until the reader reaches them (10-25 MB at most).
SHARED_PAGES_AHEAD = 48
# Yielded while the next page is on the wire: dlt skips None and moves to the next resource, and the
# main thread never blocks on a lock (Ctrl-C inside a blocking ``Queue.get`` can leave its mutex held).
NOT_READY = None
_END = object()

Streamed = tuple[queue.Queue, Future]
"""A window fetched page by page into its queue: ``(pages, future of the fetch)``."""


def until_done(future: Future) -> Iterator[None]:
    """Yields NOT_READY until ``future`` is done."""
    while not future.done():
        yield NOT_READY


class Pools:
    """The thread pools and page queues of one session.

    Args:
        gate_size: Requests in flight at once (the fetcher's gate).
        stream_workers: Windows streamed at once (each blocks on its queue until dlt reads it, so each
            gets its own thread, never a fetch-pool worker another window waits for).
        modules_workers: ``modules`` windows at once (a whole batch's, for module_details).
    """

    def __init__(self, gate_size: int, stream_workers: int, modules_workers: int,
                 cancelled: threading.Event) -> None:
        self.gate = PriorityGate(max(1, gate_size))
        self.cancelled = cancelled
        # Undated lists, since feeds and details; chain tasks (which wait on fetches) get their own pool
        # so they can never starve the fetchers; modules windows theirs so that a fetched-ahead batch
        # waiting for spare budget never occupies the pool the batch being read needs.
        self.fetch = ThreadPoolExecutor(max_workers=max(1, gate_size), thread_name_prefix="litmos-fetch")
        self.chain = ThreadPoolExecutor(max_workers=2, thread_name_prefix="litmos-chain")
        self.stream_pool = ThreadPoolExecutor(max_workers=max(1, stream_workers),
                                              thread_name_prefix="litmos-stream")
        self.modules = ThreadPoolExecutor(max_workers=max(1, modules_workers), thread_name_prefix="litmos-modules")
        self._shared = threading.Condition()
        self._shared_pages = 0  # pages queued in SHARED_PAGES_AHEAD slots

    def stream(self, fetch: Callable[[Callable[[pa.Table], None]], Any]) -> Streamed:
        """Runs ``fetch(on_page)`` in its own thread; its pages queue up for :meth:`read`."""
        pages: queue.Queue = queue.Queue()  # bounded by _put

        def run() -> None:
            try:
                fetch(lambda page: self._put(pages, page))
                item: Any = _END
            except BaseException as exc:  # noqa: BLE001 - handed to the reader
                item = exc
            self._put(pages, item, page=False)

        return pages, self.stream_pool.submit(run)

    def read(self, entry: Future | Streamed) -> Iterator[pa.Table | None]:
        """The pages of a window (a future of all its pages, or a streamed one), NOT_READY meanwhile."""
        if isinstance(entry, Future):
            yield from until_done(entry)
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
                with self._shared:
                    self._shared_pages -= 1
                    self._shared.notify()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
        future.result()

    def _put(self, pages: queue.Queue, item: Any, page: bool = True) -> None:
        """Queues ``item`` as ``(item, shared)``: within the window's PAGES_AHEAD, else in a free shared
        slot, else once the reader took one (it frees its own window's allowance, so it is never blocked)."""
        while page:
            if self.cancelled.is_set():
                raise Cancelled("run cancelled")
            if pages.qsize() < PAGES_AHEAD:
                break
            with self._shared:
                if self._shared_pages < SHARED_PAGES_AHEAD:
                    self._shared_pages += 1
                    pages.put((item, True))
                    return
                self._shared.wait(0.2)
        pages.put((item, False))

    def saturated(self) -> bool:
        """Whether every shared page slot is taken (a window's fetch then waits for the reader)."""
        return self._shared_pages >= SHARED_PAGES_AHEAD

    def close(self, cancel: bool) -> None:
        """Shuts the pools down; with ``cancel`` queued work is dropped (set ``cancelled`` first)."""
        # Fetching pools first: cancelled fetches release the chain tasks waiting on them.
        for pool in (self.stream_pool, self.modules, self.fetch, self.chain):
            pool.shutdown(wait=True, cancel_futures=cancel)
