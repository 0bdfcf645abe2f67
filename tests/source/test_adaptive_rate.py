"""The budget adapts to the key's real limit: down on 503/429 (honouring Retry-After), back up on success.

The AIMD logic is driven with a fake clock; one small threaded run against a sliding-window server with
a one-second "minute" checks the client wiring, on a fake clock too (the server counts the same seconds).
"""
from __future__ import annotations

import threading
from collections import deque

import pytest

from .fake_api import fake_api
from .fake_clock import FakeClock
from sources.litmos.budget import AdaptiveRate, RateLimiter
from sources.litmos.client import LitmosClient

PER_MIN = 1 / 60.0


class SlidingWindowServer:
    """The vendor's limit as the simulator models it: at most ``limit`` accepted requests in any period."""

    def __init__(self, limit: int, period_s: float = 60.0) -> None:
        self.limit, self.period_s = limit, period_s
        self.accepted: deque[float] = deque()

    def take(self, now: float) -> bool:
        while self.accepted and now - self.accepted[0] >= self.period_s:
            self.accepted.popleft()
        if len(self.accepted) >= self.limit:
            return False
        self.accepted.append(now)
        return True


def simulate(limit: int, requests: int, ceiling: float = 98.0, latency: float = 0.3) -> tuple[float, int]:
    """Sends ``requests`` at the adaptive rate (one at a time on a fake clock, like a token bucket of
    burst 1) until all are served; returns (seconds taken, refusals)."""
    server, rate = SlidingWindowServer(limit), AdaptiveRate(ceiling)
    now, next_send, paused_until, done, refused = 0.0, 0.0, 0.0, 0, 0
    while done < requests:
        now = max(next_send, paused_until)
        sent_at = now
        answered = now + latency
        if server.take(now):
            rate.on_accepted(sent_at, answered)
            done += 1
        else:
            refused += 1
            paused_until = max(paused_until, answered + rate.on_refused(sent_at, answered))
        next_send = now + 1.0 / rate.rate
        assert refused < 10 * requests, "never converges"
    return now + latency, refused


@pytest.mark.parametrize("limit", [10, 25, 50, 100])
def test_a_121_request_job_finishes_within_1_3x_of_the_servers_floor(limit):
    taken, refused = simulate(limit, 121)
    floor = 121 / limit * 60.0
    assert taken <= 1.3 * floor, (taken, floor)
    assert refused <= 12  # not a stream of 503s: a handful while finding the limit, one per probe


def test_a_refusal_cuts_to_95_percent_of_what_the_last_minute_accepted_and_holds_until_a_slot_frees():
    rate = AdaptiveRate(98)
    for i in range(10):
        rate.on_accepted(sent_at=i * 0.6, now=i * 0.6 + 0.1)
    assert rate.rate == pytest.approx(98 * PER_MIN)  # nothing says the limit is lower yet
    hold = rate.on_refused(sent_at=6.0, now=6.1)
    assert rate.rate == pytest.approx(9.5 * PER_MIN)
    assert hold == pytest.approx(60.1 - 6.1)  # the first accepted request ages out of the vendor's minute
    # More refusals of requests already under way say nothing new: no further cut, no hold.
    assert rate.on_refused(sent_at=6.05, now=6.2) == 0.0 and rate.rate == pytest.approx(9.5 * PER_MIN)
    # A refusal at a rate already under what was accepted: older traffic fills the window; no cut.
    rate.on_refused(sent_at=12.0, now=12.1)
    assert rate.rate == pytest.approx(9.5 * PER_MIN)


def test_success_probes_back_up_2_percent_per_minute_doubling_each_clean_minute_to_the_ceiling():
    rate = AdaptiveRate(98)
    for i in range(10):
        rate.on_accepted(sent_at=float(i), now=float(i))
    rate.on_refused(sent_at=10.0, now=10.0)
    assert rate.rate == pytest.approx(9.5 * PER_MIN)
    rate.on_accepted(sent_at=5.0, now=16.0)  # sent before the cut: no evidence about the new rate
    assert rate.rate == pytest.approx(9.5 * PER_MIN)
    for i in range(1, 10):  # the first minute after the cut at 9.5/min: +2% of the rate per minute
        rate.on_accepted(sent_at=10.0 + 6.3 * i, now=10.0 + 6.3 * i)
    assert rate.rate * 60 == pytest.approx(9.5 + 9 * 0.02)
    for i in range(10):  # the second minute: the step has doubled
        rate.on_accepted(sent_at=71.0 + i, now=71.0 + i)
    assert rate.rate * 60 == pytest.approx(9.5 + 9 * 0.02 + 10 * 0.04)
    t = 100.0
    for _ in range(2000):
        t += 1.0
        rate.on_accepted(sent_at=t, now=t)
    assert rate.rate == pytest.approx(98 * PER_MIN)  # never above the configured budget


def test_nothing_accepted_lately_halves_then_slow_start_doubles_back_towards_the_ceiling():
    rate = AdaptiveRate(96)
    assert rate.on_refused(sent_at=0.0, now=0.1) == 0.0
    assert rate.rate == pytest.approx(48 * PER_MIN)
    rate.on_refused(sent_at=0.2, now=0.3)
    assert rate.rate == pytest.approx(24 * PER_MIN)
    for i in range(24):  # one minute of successes at 24/min (another client freed the key)
        rate.on_accepted(sent_at=1.0 + i, now=1.0 + i)
    assert rate.rate == pytest.approx(48 * PER_MIN)
    for _ in range(200):
        rate.on_refused(sent_at=-1, now=100.0)  # all sent before the last cut
    assert rate.rate == pytest.approx(48 * PER_MIN)
    fresh = AdaptiveRate(98)
    for i in range(10):
        fresh.on_refused(sent_at=float(i), now=float(i))
    assert fresh.rate == pytest.approx(1 * PER_MIN)  # the floor: a refused request is retried each minute


def test_limiter_honours_retry_after_and_stays_fixed_when_not_adaptive():
    clock = FakeClock()
    limiter = RateLimiter(98, clock=clock)
    for _ in range(5):
        limiter.accepted(sent_at=clock.t)
    assert limiter.refused(sent_at=clock.t, retry_after=7.0) is True
    assert limiter._paused_until == pytest.approx(1007.0)
    assert limiter.rate == pytest.approx(5 * 0.95 * PER_MIN)
    assert limiter.accepted_total == 5
    fixed = RateLimiter(98, adaptive=False, clock=clock)
    assert fixed.refused(sent_at=clock.t) is False and fixed.rate == pytest.approx(98 * PER_MIN)
    assert RateLimiter(0).refused(sent_at=0.0) is False  # unlimited: the client backs off as before


def test_client_adapts_to_a_key_limit_far_below_its_budget_without_giving_up():
    """40 requests from 4 workers at a 98-per-period budget against a server taking 10 per period: on
    today's main every worker sat out its own backoff and requests gave up after 13 attempts."""
    server = SlidingWindowServer(limit=10, period_s=1.0)
    clock = FakeClock()
    lock = threading.Lock()
    log: list[int] = []

    def handler(path, q, h):
        with lock:
            ok = server.take(clock())
            log.append(200 if ok else 503)
        if ok:
            return 200, b"<Teams><Team><Id>t</Id></Team></Teams>", None
        return 503, b"The API rating limit has been exceeded", {"Content-Type": "text/plain"}

    with fake_api(handler) as api:
        client = LitmosClient(api.base_url, "key", "tests", max_retries=2, backoff_base=0.05,
                              limiter=RateLimiter(98, period_s=1.0, clock=clock, wait=clock.wait))
        failures: list[str] = []

        def worker():
            for _ in range(10):
                try:
                    client.get("/org/teams", label="teams")
                except Exception as exc:  # noqa: BLE001 - the test inspects it
                    failures.append(str(exc))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert failures == []
    assert log.count(200) == 40
    assert log.count(503) <= 12
    assert client.limiter.rate * 1.0 <= 10.5  # settled at the server's limit, not the budget
