"""HTTP client and page loop: paging quirks, retries, 503/429 handling, rate budget, module 404s."""
from __future__ import annotations

import threading
import time


from .fake_api import EMPTY, fake_api
from .fake_clock import FakeClock
from sources.litmos.client import LitmosClient, RateLimiter
from sources.litmos.events import RequestRetried
from sources.litmos.fetch import Fetcher
from sources.litmos.settings import ENDPOINTS
from sources.litmos.windows import Window, parse_user_date


def _teams(ids) -> bytes:
    items = "".join(f"<Team><Id>{i}</Id></Team>" for i in ids)
    return f'<Teams xmlns:i="http://www.w3.org/2001/XMLSchema-instance">{items}</Teams>'.encode()


def _client(api, **kw) -> LitmosClient:
    kw.setdefault("backoff_base", 0.01)
    return LitmosClient(api.base_url, "key", "tests", **kw)


WINDOW = Window(parse_user_date("2025-03-01", "x"), parse_user_date("2025-03-08", "x"))


def test_paging_advances_by_rows_received_and_survives_oversize_and_empty_final_pages():
    total = [f"t{i}" for i in range(2007)]

    def handler(path, q, h):
        start, limit = int(q["start"]), int(q["limit"])
        # The vendor quirk: a page may hold a few MORE records than the limit.
        size = limit + 3 if start == 0 else limit
        return 200, _teams(total[start:start + size]), None

    with fake_api(handler) as api:
        tables = Fetcher(_client(api)).fetch_window(ENDPOINTS["teams"], WINDOW)
    starts = [int(r.params["start"]) for r in api.requests]
    assert starts == [0, 1003, 2003]
    assert {r.params["limit"] for r in api.requests} == {"1000"}
    assert [i for t in tables for i in t.column("id").to_pylist()] == total
    assert api.requests[0].params["since"] == "2025-03-01 00:00:00"
    assert api.requests[0].params["to"] == "2025-03-08 00:00:00"

    with fake_api(lambda p, q, h: (200, _teams(total[int(q["start"]):int(q["start"]) + 1000])
                                   if int(q["start"]) < 2000 else EMPTY, None)) as api:
        tables = Fetcher(_client(api)).fetch_window(ENDPOINTS["teams"], WINDOW)
    assert [int(r.params["start"]) for r in api.requests] == [0, 1000, 2000]
    assert sum(t.num_rows for t in tables) == 2000


def test_endpoint_ignoring_paging_does_not_loop_forever():
    items = "".join(f"<Collection><Id>c{i}</Id></Collection>" for i in range(1000))
    with fake_api(lambda p, q, h: (200, f"<Collections>{items}</Collections>".encode(), None)) as api:
        tables = Fetcher(_client(api)).fetch_window(ENDPOINTS["collections"], None)
    assert len(api.requests) == 2 and sum(t.num_rows for t in tables) == 1000


def test_header_auth_source_and_format_parameters():
    with fake_api(lambda p, q, h: (200, b"[]", {"Content-Type": "application/json"})) as api:
        client = LitmosClient(api.base_url, "the-key", "my-app", response_format="json")
        Fetcher(client).fetch_window(ENDPOINTS["teams"], WINDOW)
    (req,) = api.requests
    assert req.headers["apikey"] == "the-key" and "apikey" not in req.params
    assert req.params["source"] == "my-app" and req.params["format"] == "json"
    assert req.headers["Accept"] == "application/json"
    assert req.headers["Content-Type"] == "application/json"  # the docs' way of choosing the format

    with fake_api(lambda p, q, h: (200, _teams(["a"]), None)) as api:
        Fetcher(LitmosClient(api.base_url, "the-key", "my-app")).fetch_window(ENDPOINTS["teams"], WINDOW)
    (req,) = api.requests
    assert "format" not in req.params
    assert req.headers["Accept"] == "text/xml" and req.headers["Content-Type"] == "text/xml"


def test_transient_failures_are_retried_with_events():
    script = [(502, b"<html>bad gateway</html>"), (500, b"<html>oops</html>"), (200, b"<Teams><Team><Id>x</Id>"),
              (200, _teams(["ok"]))]
    events = []

    def handler(path, q, h):
        status, body = script.pop(0)
        return status, body, {"Content-Type": "text/html"} if status >= 500 else None

    with fake_api(handler) as api:
        client = _client(api, on_event=events.append)
        (table,) = Fetcher(client).fetch_window(ENDPOINTS["teams"], WINDOW)
    assert table.column("id").to_pylist() == ["ok"]
    retries = [e for e in events if isinstance(e, RequestRetried)]
    assert [e.attempt for e in retries] == [1, 2, 3]
    assert retries[0].reason == "HTTP 502 (bad gateway)"
    assert retries[2].reason.startswith("/org/teams: malformed XML")
    assert client.stats.requests_total == 4 and client.stats.retries_total == 3


def test_503_burst_pauses_everyone_then_recovers_and_429_honours_retry_after():
    calls = []
    events = []
    clock = FakeClock()

    def handler(path, q, h):
        calls.append(clock())
        if len(calls) <= 3:
            return 503, b"The API rating limit has been exceeded", None
        if len(calls) == 4:
            return 429, b"slow down", {"Retry-After": "1"}
        return 200, _teams(["a"]), None

    with fake_api(handler) as api:
        client = _client(api, on_event=events.append, limiter=RateLimiter(0, clock=clock, wait=clock.wait))
        Fetcher(client).fetch_window(ENDPOINTS["teams"], WINDOW)
    assert len(calls) == 5
    assert calls[4] - calls[3] >= 1.0  # the shared budget held everyone for the Retry-After second ...
    retries = [e for e in events if isinstance(e, RequestRetried)]
    assert retries[3].delay_s >= 1.0  # ... and the request itself waited it out


def test_cancel_cuts_a_retry_backoff_and_a_budget_wait_short():
    """Ctrl-C or a failed resource must not sit out a minute of backoff or a 503 pause."""
    failures = []
    backing_off = threading.Event()
    with fake_api(lambda p, q, h: (500, b"<html>down</html>", {"Content-Type": "text/html"})) as api:
        # the first retry would sleep 60-180 s, the pause lasts 10 minutes: only cancel ends them in time
        client = _client(api, backoff_base=120.0,
                         on_event=lambda e: isinstance(e, RequestRetried) and backing_off.set())
        limiter_client = _client(api, limiter=RateLimiter(0))
        limiter_client.limiter.pause(600)

        def run(c):
            try:
                Fetcher(c).fetch_window(ENDPOINTS["teams"], WINDOW)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                failures.append(type(exc).__name__)

        threads = [threading.Thread(target=run, args=(c,)) for c in (client, limiter_client)]
        for t in threads:
            t.start()
        assert backing_off.wait(30), "the failed request never went into its backoff"
        deadline = time.monotonic() + 30
        while not limiter_client.limiter._waiting._heap:  # the other waits for the paused budget
            assert time.monotonic() < deadline, "the paused client never asked for a token"
            time.sleep(0.01)
        client.cancel()
        limiter_client.cancel()
        for t in threads:
            t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert sorted(failures) == ["Cancelled", "Cancelled"]
    assert len(api.requests) == 1  # the paused client never sent anything


def test_module_detail_404_is_skipped_with_warning(caplog):
    def handler(path, q, h):
        if path == "/modules/m404":
            return 404, b"Not Found", None
        return 200, b"<Module><Id>m1</Id><ModuleType>9</ModuleType></Module>", None

    with fake_api(handler) as api:
        fetcher = Fetcher(_client(api))
        assert fetcher.fetch_detail(ENDPOINTS["module_details"], "m404") is None
        table = fetcher.fetch_detail(ENDPOINTS["module_details"], "m1")
    assert table.to_pylist()[0]["id"] == "m1"
    assert "GET /modules/m404: 404, not a SCORM/Tin Can module; skipped" in caplog.text
