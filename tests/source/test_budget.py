"""The run's request budget: the shared token bucket and the bound on requests in flight, by priority."""
from __future__ import annotations

import threading
import time

from sources.litmos.budget import DEFAULT_REQUESTS_PER_MINUTE, PriorityGate, RateLimiter


def _start(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_default_budget_stays_under_the_vendor_limit_in_any_minute():
    limiter = RateLimiter(DEFAULT_REQUESTS_PER_MINUTE)
    assert DEFAULT_REQUESTS_PER_MINUTE == 98 and limiter.burst == 1
    assert limiter.burst + DEFAULT_REQUESTS_PER_MINUTE < 100


def test_no_window_holds_more_than_burst_plus_rate():
    limiter = RateLimiter(1200, burst=1)  # 20 per second: a second is this test's "minute"
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [_start(worker) for _ in range(4)]
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 40
    busiest = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert busiest <= 21
    assert stamps[-1] - stamps[0] >= 39 / 20 - 0.05  # the pace is the budget's


def test_waiting_requests_get_tokens_highest_priority_first():
    limiter = RateLimiter(600, burst=1)  # a token every 0.1 s
    limiter.acquire()  # the bucket is now empty
    order: list[str] = []

    def take(name: str, priority: int) -> None:
        limiter.acquire(priority)
        order.append(name)

    threads = [_start(take, "first page A", 0)]
    _wait_for(lambda: len(limiter._waiting._heap) == 1)
    threads.append(_start(take, "first page B", 0))
    _wait_for(lambda: len(limiter._waiting._heap) == 2)
    threads.append(_start(take, "page 12 of a long window", 12))
    for thread in threads:
        thread.join()
    assert order == ["page 12 of a long window", "first page A", "first page B"]


def test_pause_holds_every_waiter():
    limiter = RateLimiter(0)
    assert limiter.acquire() == 0.0
    limiter.pause(0.3)
    began = time.monotonic()
    limiter.acquire(5)
    assert time.monotonic() - began >= 0.29


def test_gate_bounds_requests_in_flight_and_admits_by_priority():
    gate = PriorityGate(1)
    inside = threading.Event()
    release = threading.Event()
    order: list[int] = []

    def holder():
        with gate.hold(0):
            inside.set()
            release.wait(5)

    def waiter(priority: int):
        with gate.hold(priority):
            order.append(priority)

    first = _start(holder)
    inside.wait(5)
    waiters = []
    for priority in (0, 3, 1):
        waiters.append(_start(waiter, priority))
        _wait_for(lambda n=len(waiters): len(gate._waiting._heap) == n)
    assert order == []  # the one slot is taken
    release.set()
    for thread in [first, *waiters]:
        thread.join()
    assert order == [3, 1, 0]
