"""A fake monotonic clock for the rate limiter: timing assertions in seconds that never pass for real."""
from __future__ import annotations

import functools
import threading

from sources.litmos.budget import RateLimiter


class FakeClock:
    """Seconds that pass only when the code under test waits, or when the test says so.

    Give it to a limiter as ``RateLimiter(..., clock=clock, wait=clock.wait)``.

    Args:
        start: The first reading.
        auto: True: a wait jumps the clock to its deadline at once (a run's pacing is simulated in no
            time). False: time stands still and waiters block until :meth:`advance` moves it.
    """

    def __init__(self, start: float = 1000.0, auto: bool = True) -> None:
        self.t = start
        self.auto = auto
        self._lock = threading.Lock()
        self._conditions: set[threading.Condition] = set()
        self._last = threading.local()

    def __call__(self) -> float:
        self._last.t = self.t
        return self.t

    def last_read(self) -> float:
        """What this thread last read: right after ``acquire()``, the moment its token was granted
        (the limiter reads the clock under its lock as it grants; other threads may move it after)."""
        return self._last.t

    def wait(self, condition: threading.Condition, seconds: float) -> None:
        """Stands in for ``condition.wait(seconds)`` (called with ``condition`` held)."""
        if self.auto:
            with self._lock:
                self.t += max(0.0, seconds)
            return
        self._conditions.add(condition)
        condition.wait()  # until advance() (or the limiter itself) notifies

    def advance(self, seconds: float) -> None:
        """Moves time on and wakes every waiter to look at it."""
        with self._lock:
            self.t += seconds
        for condition in list(self._conditions):
            with condition:
                condition.notify_all()


def every_limiter_on(clock: FakeClock, monkeypatch) -> list[float]:
    """Makes every RateLimiter built from now on (also deep inside ``sync()``) run on ``clock``;
    returns the list that then receives each granted token's time."""
    grants: list[float] = []
    lock = threading.Lock()
    init, acquire = RateLimiter.__init__, RateLimiter.acquire

    def recording_acquire(self, priority: int = 0) -> float:
        waited = acquire(self, priority)
        with lock:
            grants.append(clock.last_read())
        return waited

    monkeypatch.setattr(RateLimiter, "__init__", functools.partialmethod(init, clock=clock, wait=clock.wait))
    monkeypatch.setattr(RateLimiter, "acquire", recording_acquire)
    return grants
