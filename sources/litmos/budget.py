"""The request budget of a run: the shared rate limit and the bound on requests in flight.

Both serve waiting threads by priority (highest first, first come first served within a priority). The
fetcher gives a window's next page the number of pages it has already read as its priority, so a long
chain of pages (each page's ``start`` depends on the previous page's row count) is never queued behind
one-page windows: the chain's latency then overlaps everybody else's requests instead of adding to the
run's wall time once they are done.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from .exceptions import Cancelled

#: The default budget: 2% under the vendor's 100 requests/minute per key. With a burst of 1 no 60 seconds
#: can hold more than 99 requests, and a backfill takes at most 1.02x the vendor's floor
#: (requests / 100 per minute) plus the latency of the last request.
DEFAULT_REQUESTS_PER_MINUTE = 98


class _PriorityQueue:
    """Tickets of waiting threads; the head is the highest priority, then the oldest."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int]] = []
        self._seq = itertools.count()

    def push(self, priority: int) -> tuple[int, int]:
        ticket = (-priority, next(self._seq))
        heapq.heappush(self._heap, ticket)
        return ticket

    def is_head(self, ticket: tuple[int, int]) -> bool:
        return self._heap[0] == ticket

    def pop(self) -> None:
        heapq.heappop(self._heap)

    def remove(self, ticket: tuple[int, int]) -> None:
        if ticket in self._heap:
            self._heap.remove(ticket)
            heapq.heapify(self._heap)


class RateLimiter:
    """Token bucket shared by every worker thread of a run.

    Args:
        requests_per_minute: Sustained rate; 0 or None disables limiting.
        burst: Tokens available at once. Any 60 seconds then hold at most ``burst + requests_per_minute``
            requests, however the vendor aligns its minute, so the default of 1 keeps a budget of up to
            99/minute under the vendor's 100.
    """

    def __init__(self, requests_per_minute: float | None, burst: int = 1) -> None:
        self.rate = (requests_per_minute or 0) / 60.0
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._paused_until = 0.0
        self._cond = threading.Condition()
        self._waiting = _PriorityQueue()
        self._cancelled = False
        self.waited_s = 0.0

    def acquire(self, priority: int = 0) -> float:
        """Takes one token, sleeping until it is this caller's turn; returns the seconds waited."""
        began = time.monotonic()
        with self._cond:
            if self._cancelled:
                raise Cancelled("run cancelled")
            if self.rate <= 0 and self._paused_until <= began:
                return 0.0
            ticket = self._waiting.push(priority)
            self._cond.notify_all()  # a new head re-plans the sleep of the old one
            try:
                while True:
                    if self._cancelled:
                        raise Cancelled("run cancelled")
                    now = time.monotonic()
                    if self._waiting.is_head(ticket):
                        ready = max(self._paused_until, self._ready_at(now))
                        if ready <= now:
                            self._waiting.pop()
                            if self.rate > 0:
                                self._tokens -= 1.0
                            self._cond.notify_all()
                            break
                        self._cond.wait(ready - now)
                    else:
                        self._cond.wait()
            except BaseException:
                self._waiting.remove(ticket)
                self._cond.notify_all()
                raise
            waited = time.monotonic() - began
            self.waited_s += waited
        return waited

    def _ready_at(self, now: float) -> float:
        """When the next token is there (refilling the bucket up to ``now``)."""
        if self.rate <= 0:
            return now
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now if self._tokens >= 1.0 else now + (1.0 - self._tokens) / self.rate

    def cancel(self) -> None:
        """Wakes every waiting caller with :class:`Cancelled`; later calls to acquire raise it too."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Holds every worker for ``seconds`` (the vendor said we are over its limit)."""
        with self._cond:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
            self._cond.notify_all()


class PriorityGate:
    """At most ``slots`` requests in flight across all fetching threads; waiters enter by priority."""

    def __init__(self, slots: int) -> None:
        self._free = max(1, slots)
        self._cond = threading.Condition()
        self._waiting = _PriorityQueue()

    @contextmanager
    def hold(self, priority: int = 0) -> Iterator[None]:
        """Holds one slot for the body of the ``with`` block."""
        with self._cond:
            ticket = self._waiting.push(priority)
            try:
                while not (self._free > 0 and self._waiting.is_head(ticket)):
                    self._cond.wait()
            except BaseException:
                self._waiting.remove(ticket)
                self._cond.notify_all()
                raise
            self._waiting.pop()
            self._free -= 1
            self._cond.notify_all()  # the next head may take another free slot
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()
