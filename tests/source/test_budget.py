"""The run's request budget: the shared token bucket and the bound on requests in flight, by priority."""
from __future__ import annotations

import threading
import time

import pytest

from .fake_clock import FakeClock
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


def _busiest(stamps: list[float], period: float) -> int:
    """The most stamps in any half-open window of ``period`` seconds (windows start at a stamp)."""
    return max(sum(1 for t in stamps if s <= t < s + period) for s in stamps)


def _hammer(limiter: RateLimiter, clock: FakeClock, threads: int, each: int) -> list[float]:
    """``threads`` workers take ``each`` tokens at mixed priorities, reporting every request as served
    (so the adaptive rate probes upwards as hard as it can); returns the sorted grant times."""
    stamps: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(each):
            limiter.acquire((n * 7 + i) % 5)
            granted = clock.last_read()
            limiter.accepted(sent_at=granted)
            with lock:
                stamps.append(granted)

    workers = [_start(worker, n) for n in range(threads)]
    for thread in workers:
        thread.join(30)
    assert not any(thread.is_alive() for thread in workers)
    return sorted(stamps)


@pytest.mark.parametrize("threads", [1, 4, 16])
def test_default_budget_never_lets_100_requests_into_any_minute(threads):
    clock = FakeClock()
    stamps = _hammer(RateLimiter(DEFAULT_REQUESTS_PER_MINUTE, clock=clock, wait=clock.wait), clock,
                     threads, each=480 // threads)
    assert len(stamps) == 480
    assert _busiest(stamps, 60.0) < 100  # the vendor's limit, however the vendor aligns its minute
    assert stamps[-1] - stamps[0] >= 479 / DEFAULT_REQUESTS_PER_MINUTE * 60 - 1e-6  # the pace is the budget's


@pytest.mark.parametrize("burst", [1, 3])
def test_no_window_holds_more_than_burst_plus_rate(burst):
    clock = FakeClock()
    limiter = RateLimiter(1200, burst=burst, clock=clock, wait=clock.wait)  # 20 per second: a second is
    stamps = _hammer(limiter, clock, threads=4, each=10)                     # this test's "minute"
    assert len(stamps) == 40
    assert _busiest(stamps, 1.0) <= 20 + burst
    assert stamps[-1] - stamps[0] >= (40 - burst) / 20 - 1e-9  # the pace is the budget's


def test_limiter_paces_a_single_caller_to_the_budget():
    clock = FakeClock()
    limiter = RateLimiter(600, burst=1, clock=clock, wait=clock.wait)  # 10 per second
    began = clock()
    waited = sum(limiter.acquire() for _ in range(11))
    assert clock() - began == pytest.approx(1.0) and waited == pytest.approx(1.0)
    assert limiter.waited_s == pytest.approx(1.0)
    assert RateLimiter(0).acquire() == 0.0  # unlimited: no wait at all


def test_waiting_requests_get_tokens_highest_priority_first():
    clock = FakeClock(auto=False)  # time stands still until all three are queued
    limiter = RateLimiter(600, burst=1, clock=clock, wait=clock.wait)  # a token every 0.1 s
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
    _wait_for(lambda: len(limiter._waiting._heap) == 3)
    deadline = time.monotonic() + 10
    while any(thread.is_alive() for thread in threads):  # burst 1: however far time moves, one token
        assert time.monotonic() < deadline, "the waiters never got their tokens"
        clock.advance(0.1)
        time.sleep(0.005)
    assert order == ["page 12 of a long window", "first page A", "first page B"]


def test_pause_holds_every_waiter():
    clock = FakeClock()
    limiter = RateLimiter(0, clock=clock, wait=clock.wait)
    assert limiter.acquire() == 0.0
    limiter.pause(0.3)
    began = clock()
    waits = [limiter.acquire(5), limiter.acquire(0)]
    assert waits[0] == pytest.approx(0.3) and clock() - began == pytest.approx(0.3)
    assert waits[1] == 0.0  # the pause is over: an unlimited budget lets the next one straight in


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
