"""Every rule and status code, in the documented check order, and the request log."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from .conftest import NOW, fmt, get

WINDOW = {"since": "2026-01-08 00:00:00", "to": "2026-01-15 00:00:00"}


def test_ok_with_header_key_any_case_and_query_key(sim):
    for headers in ({"apikey": "test-key"}, {"APIKey": "test-key"}, {"APIKEY": "test-key"}):
        r = requests.get(sim.base_url + "/org/teams", params={"source": "t", **WINDOW}, headers=headers, timeout=10)
        assert r.status_code == 200
    assert get(sim, "/org/teams", key="query", **WINDOW).status_code == 200


@pytest.mark.parametrize("key", [None, "wrong"])
def test_missing_or_wrong_key_is_403(sim, key):
    headers = {} if key is None else {"apikey": key}
    r = requests.get(sim.base_url + "/org/teams", params={"source": "t", **WINDOW}, headers=headers, timeout=10)
    assert r.status_code == 403
    assert r.text == "Forbidden: missing or invalid API key; send it in the 'apikey' request header"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_source_missing_403_and_too_long_400(sim):
    r = get(sim, "/org/teams", source="", **WINDOW)
    assert r.status_code == 403
    assert r.text.startswith("Forbidden: missing 'source' query parameter")
    assert get(sim, "/org/teams", source="x" * 50, **WINDOW).status_code == 200
    r = get(sim, "/org/teams", source="x" * 51, **WINDOW)
    assert (r.status_code, r.text) == (400, "Bad Request: 'source' is 51 characters long; use at most 50")


def test_unknown_route_404_and_wrong_method_405(sim):
    r = get(sim, "/org/nothing", **WINDOW)
    assert (r.status_code, r.text) == (404, "Not Found: no endpoint /org/nothing")
    r = requests.get(sim.root_url + "/api/org/teams", params={"source": "t", "apikey": "test-key"}, timeout=10)
    assert r.status_code == 404
    r = requests.post(sim.base_url + "/org/teams", params={"source": "t", **WINDOW}, headers={"apikey": "test-key"},
                      timeout=10)
    assert r.status_code == 405


@pytest.mark.parametrize("params,message", [
    ({"to": "2026-01-15 00:00:00"}, "Bad Request: missing 'since' query parameter; add since=YYYY-MM-DD HH:MM:SS "
                                    "(UTC, range at most 7 days)"),
    ({"since": "2026-01-08 00:00:00"}, "Bad Request: missing 'to' query parameter; add to=YYYY-MM-DD HH:MM:SS "
                                       "(UTC, range at most 7 days)"),
    ({"since": "2026-01-08", "to": "2026-01-15 00:00:00"},
     "Bad Request: since='2026-01-08' is not a date-time; use YYYY-MM-DD HH:MM:SS (UTC)"),
    ({"since": "2026-02-30 00:00:00", "to": "2026-03-01 00:00:00"},
     "Bad Request: since='2026-02-30 00:00:00' is not a date-time; use YYYY-MM-DD HH:MM:SS (UTC)"),
    ({"since": "2026-01-15 00:00:01", "to": "2026-01-15 00:00:00"}, "Bad Request: 'since' is after 'to'; swap them"),
    ({"since": "2026-01-08 00:00:00", "to": "2026-01-15 00:00:01"},
     "Bad Request: the date range since..to is longer than 7 days; split it into ranges of at most 7 days"),
    ({**WINDOW, "start": "-1"}, "Bad Request: start='-1' is invalid; use an integer >= 0"),
    ({**WINDOW, "start": "abc"}, "Bad Request: start='abc' is invalid; use an integer >= 0"),
    ({**WINDOW, "limit": "0"}, "Bad Request: limit='0' is invalid; use an integer from 1 to 1000"),
    ({**WINDOW, "limit": "1001"}, "Bad Request: limit='1001' is invalid; use an integer from 1 to 1000"),
    ({**WINDOW, "limit": "ten"}, "Bad Request: limit='ten' is invalid; use an integer from 1 to 1000"),
])
def test_bad_parameters_are_400_with_a_message(sim, params, message):
    r = get(sim, "/org/results/details", **params)
    assert (r.status_code, r.text) == (400, message)


def test_accepted_parameter_forms(sim):
    assert get(sim, "/org/teams", since="2026-01-08T00:00:00", to="2026-01-15T00:00:00Z").status_code == 200
    assert get(sim, "/org/teams", **WINDOW).status_code == 200  # exactly 7 days
    assert get(sim, "/org/teams", since=WINDOW["to"], to=WINDOW["to"]).status_code == 200  # empty range
    assert get(sim, "/org/teams", limit=1000, start=5, **WINDOW).status_code == 200
    assert get(sim, "/org/teams", limit=1, **WINDOW).status_code == 200


def test_check_order_key_then_source_then_route_then_params(sim):
    no_key = requests.get(sim.base_url + "/org/nothing", params={"limit": "0"}, timeout=10)
    assert no_key.status_code == 403 and "API key" in no_key.text
    no_source = get(sim, "/org/nothing", source="", limit="0")
    assert no_source.status_code == 403 and "source" in no_source.text
    unknown = get(sim, "/org/nothing", limit="0")
    assert unknown.status_code == 404
    bad = get(sim, "/org/teams", limit="0")
    assert bad.status_code == 400


def test_every_request_is_logged_without_the_key(sim):
    get(sim, "/org/teams", key="query", **WINDOW)
    get(sim, "/org/teams", key=None, **WINDOW)
    get(sim, "/org/nothing", **WINDOW)
    r = get(sim, "/org/results/details", limit=5, **WINDOW)
    log = sim.requests()
    assert [(x.method, x.path, x.status) for x in log] == [
        ("GET", "/org/teams", 200), ("GET", "/org/teams", 403), ("GET", "/org/nothing", 404),
        ("GET", "/org/results/details", 200)]
    assert all("apikey" not in {k.lower() for k in x.params} for x in log)
    assert log[0].params == {"source": "tests", **WINDOW}
    assert log[3].rows == r.text.count("<UserResult>") and log[3].rows >= 5
    assert log[3].at == NOW
    assert "test-key" not in repr(log) and "test-key" not in repr(sim.stats())
    stats = sim.stats()
    assert stats["requests"] == 4
    assert stats["by_status"] == {200: 2, 403: 1, 404: 1}
    assert stats["longest_window_s"] == 7 * 86400
    sim.clear_requests()
    assert sim.requests() == [] and sim.stats()["requests"] == 0


def test_rate_limit_503_with_vendor_text(make_litmos_sim):
    sim = make_litmos_sim(rate_limit=3)
    statuses = [get(sim, "/org/teams", **WINDOW) for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 503, 503]
    assert statuses[3].text == "The API rating limit has been exceeded"
    assert "Retry-After" not in statuses[3].headers
    # A wrong key is refused before the rate limit is consulted.
    assert requests.get(sim.base_url + "/org/teams", params={"source": "t"}, timeout=10).status_code == 403
    assert [x.fault for x in sim.requests()] == [None, None, None, "rate_limit", "rate_limit", None]
    sim.set_faults(rate_limit=None)
    assert get(sim, "/org/teams", **WINDOW).status_code == 200


def test_rate_limit_429_switch_sends_retry_after(make_litmos_sim):
    sim = make_litmos_sim(rate_limit=1, rate_limit_status=429)
    assert get(sim, "/org/teams", **WINDOW).status_code == 200
    r = get(sim, "/org/teams", **WINDOW)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60


def test_date_header_is_the_simulated_clock(sim):
    r = get(sim, "/org/teams", **WINDOW)
    assert r.headers["Date"] == "Thu, 15 Jan 2026 10:30:00 GMT"
    sim.advance(timedelta(hours=25, seconds=3), activity=False)
    r = get(sim, "/org/nothing")
    assert r.headers["Date"] == "Fri, 16 Jan 2026 11:30:03 GMT"
    assert fmt(sim.now()) == "2026-01-16 11:30:03"
