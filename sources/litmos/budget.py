"""The request budget of a run: the shared, adaptive rate limit and the bound on requests in flight.

Both serve waiting threads by priority (highest first, then first come), so a long chain of pages is
never queued behind one-page windows. The configured rate is a ceiling (:class:`AdaptiveRate`).
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

from .exceptions import Cancelled

#: 2% under the vendor's 100 requests/minute per key: with a burst of 1 no 60 seconds hold more than 99.
DEFAULT_REQUESTS_PER_MINUTE = 98


class _PriorityQueue:
    """Tickets of waiting threads: highest priority first, then the oldest."""

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


class AdaptiveRate:
    """The rate to send at, from what the server accepted and refused (AIMD with a measured floor).

    On a refusal the rate drops to 95% of what was accepted in the last period (or halves when nothing
    was); refusals of requests sent before that cut change nothing. It then creeps up by 2% per period,
    doubling the step per clean period, with slow start below the last rate known to work.
    """

    CUT = 0.95
    HALVE = 0.5
    PROBE = 0.02

    def __init__(self, requests_per_minute: float, period_s: float = 60.0, floor_per_minute: float = 1.0) -> None:
        self.period_s = period_s
        self.ceiling = requests_per_minute / period_s
        self.floor = min(self.ceiling, floor_per_minute / period_s)
        self.rate = self.ceiling
        self.threshold = self.ceiling  # below it: slow start; above: additive probing
        self.last_cut = float("-inf")
        self.accepted: deque[float] = deque()
        self.accepted_total = 0

    def _trim(self, now: float) -> None:
        while self.accepted and now - self.accepted[0] >= self.period_s:
            self.accepted.popleft()

    def on_accepted(self, sent_at: float, now: float) -> None:
        """A request sent at ``sent_at`` was served (any answer but 503/429)."""
        self.accepted.append(now)
        self.accepted_total += 1
        self._trim(now)
        if sent_at < self.last_cut:
            return  # sent at the rate before the cut: no evidence about the current one
        if self.rate < self.threshold:
            self.rate = min(self.threshold, self.rate + 1.0 / self.period_s)  # +1 per success: x2 per period
        else:
            # Gentle next to a limit just found; a key another client freed is used fully within minutes.
            clean = int(min(8.0, (now - self.last_cut) / self.period_s)) if self.last_cut > float("-inf") else 8
            self.rate += min(1.0, self.PROBE * 2 ** clean) / self.period_s
        self.rate = min(self.rate, self.ceiling)

    def on_refused(self, sent_at: float, now: float) -> float:
        """A request sent at ``sent_at`` was refused (503/429); returns the seconds every worker holds."""
        self._trim(now)
        if sent_at < self.last_cut:
            return 0.0
        self.last_cut = now
        recent = len(self.accepted)
        if recent:
            allowed = recent / self.period_s
            # A rate already under what was accepted means the window is full of older, faster traffic
            # (the start of a run at the ceiling): it will fit once that ages out, so no cut.
            self.rate = max(self.floor, min(self.rate, allowed * self.CUT))
            self.threshold = self.rate
            # Under a sliding window the next slot frees when our oldest accepted request ages out.
            return max(0.0, self.accepted[0] + self.period_s - now)
        self.rate = max(self.floor, self.rate * self.HALVE)
        return 0.0


class RateLimiter:
    """Token bucket shared by every worker thread of a run.

    Args:
        requests_per_minute: Sustained rate; 0 or None disables limiting (and adapting).
        burst: Tokens available at once (any 60 s hold at most ``burst + requests_per_minute``).
        adaptive: Adapt the rate to 503/429 (:class:`AdaptiveRate`).
        period_s: Length of the "minute" (benchmarks shrink it).
        clock, wait: Time and ``wait(condition, seconds)``; tests pass a fake clock's.
    """

    def __init__(self, requests_per_minute: float | None, burst: int = 1, *, adaptive: bool = True,
                 period_s: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[threading.Condition, float], object] = threading.Condition.wait) -> None:
        self.period_s = period_s
        self.rate = (requests_per_minute or 0) / period_s
        self.adaptive = AdaptiveRate(requests_per_minute, period_s) if adaptive and self.rate > 0 else None
        self.clock = clock
        self._wait = wait
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._paused_until = 0.0
        self._cond = threading.Condition()
        self._waiting = _PriorityQueue()
        self._cancelled = False
        self.waited_s = 0.0

    def acquire(self, priority: int = 0) -> float:
        """Takes one token, sleeping until it is this caller's turn; returns the seconds waited."""
        began = self.clock()
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
                    now = self.clock()
                    if self._waiting.is_head(ticket):
                        ready = max(self._paused_until, self._ready_at(now))
                        if ready <= now:
                            self._waiting.pop()
                            if self.rate > 0:
                                self._tokens -= 1.0
                            self._cond.notify_all()
                            break
                        self._wait(self._cond, ready - now)
                    else:
                        self._cond.wait()
            except BaseException:
                self._waiting.remove(ticket)
                self._cond.notify_all()
                raise
            waited = self.clock() - began
            self.waited_s += waited
        return waited

    def _ready_at(self, now: float) -> float:
        """When the next token is there, refilling the bucket up to ``now``."""
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
            self._paused_until = max(self._paused_until, self.clock() + seconds)
            self._cond.notify_all()

    def accepted(self, sent_at: float) -> None:
        """The server served a request sent at ``sent_at``."""
        if self.adaptive is None:
            return
        with self._cond:
            now = self.clock()
            self._ready_at(now)  # tokens earned so far are earned at the old rate
            self.adaptive.on_accepted(sent_at, now)
            self.rate = self.adaptive.rate

    def refused(self, sent_at: float, retry_after: float | None = None) -> bool:
        """A 503/429 for a request sent at ``sent_at``: lowers the rate and holds every worker
        (``Retry-After`` when given). False when not adaptive: the caller backs off."""
        if self.adaptive is None:
            return False
        with self._cond:
            now = self.clock()
            self._ready_at(now)
            hold = self.adaptive.on_refused(sent_at, now)
            self.rate = self.adaptive.rate
            self._tokens = min(self._tokens, 0.0)  # no token saved up before the refusal goes out at once
            if retry_after:
                hold = retry_after  # the server knows when it will take requests again
            self._paused_until = max(self._paused_until, now + min(hold, self.period_s * 2))
            self._cond.notify_all()  # waiters re-plan their sleep at the new rate
        return True

    @property
    def accepted_total(self) -> int:
        return self.adaptive.accepted_total if self.adaptive else 0


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
