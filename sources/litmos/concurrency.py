"""The threads of one run: the pools that fetch windows, the page queues with back-pressure, the reader.

Not dlt's ``parallelized=True``: its round robin cannot put the batch being loaded before the batch
fetched ahead. The budget orders the requests; the pools need only be wide enough not to limit it.
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
# Pages all windows together may buffer beyond their own PAGES_AHEAD (a split chain's one-day windows).
SHARED_PAGES_AHEAD = 48
# Yielded while a page is on the wire: dlt skips None, and the main thread never blocks on a lock
# (Ctrl-C inside a blocking ``Queue.get`` can leave its mutex held).
NOT_READY = None
_END = object()

Streamed = tuple[queue.Queue, Future]
"""A window fetched page by page into its queue: ``(pages, future of the fetch)``."""


def until_done(future: Future) -> Iterator[None]:
    """Yields NOT_READY until ``future`` is done."""
    while not future.done():
        yield NOT_READY


class Pools:
    """The thread pools and page queues of one session: ``gate_size`` requests in flight,
    ``stream_workers`` windows streamed (a thread each: it blocks until dlt reads its queue) and
    ``modules_workers`` modules windows (a whole batch's, for module_details) at once."""

    def __init__(self, gate_size: int, stream_workers: int, modules_workers: int,
                 cancelled: threading.Event) -> None:
        self.gate = PriorityGate(max(1, gate_size))
        self.cancelled = cancelled
        # Chain tasks wait on fetches and modules windows on spare budget: own pools, so neither can
        # starve the fetchers the batch being read needs.
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
        """Queues ``(item, shared)``: within the window's PAGES_AHEAD, else in a free shared slot, else once
        the reader took one."""
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
