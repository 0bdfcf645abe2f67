"""Faults (5xx, truncated bodies, dropped connections, latency) never change data."""
from __future__ import annotations

import pytest
import requests

from .conftest import get, xml_records

PARAMS = dict(since="2026-01-08 00:00:00", to="2026-01-15 00:00:00", limit=50)


def fetch_until_ok(sim, start: int) -> tuple[str, int]:
    """GET a page, retrying faulted answers; returns (body, attempts)."""
    for attempt in range(1, 200):
        try:
            r = get(sim, "/org/results/details", start=start, **PARAMS)
        except requests.ConnectionError:
            continue
        if r.status_code != 200:
            assert r.status_code in (500, 502, 503, 504)
            continue
        try:
            xml_records(r.text, "UserResult")
        except Exception:  # a truncated body does not parse
            continue
        return r.text, attempt
    raise AssertionError("never got a clean page")


def test_faults_never_change_data(make_litmos_sim):
    clean = make_litmos_sim()
    expected = [get(clean, "/org/results/details", start=s, **PARAMS).text for s in (0, 50, 100)]
    truth = clean.ground_truth("/org/results/details")
    faulty = make_litmos_sim(fail_rate=0.3, truncate_rate=0.2, drop_rate=0.1)
    got = []
    for s in (0, 50, 100):
        body, _ = fetch_until_ok(faulty, s)
        got.append(body)
    assert got == expected
    assert faulty.ground_truth("/org/results/details") == truth
    faults = {r.fault for r in faulty.requests()}
    assert faults <= {None, "error", "truncate", "drop"} and len(faults) > 1
    assert all(r.rows == 0 for r in faulty.requests() if r.fault)
    assert all(r.status == 0 for r in faulty.requests() if r.fault == "drop")


def test_error_kinds(make_litmos_sim):
    sim = make_litmos_sim(fail_rate=1.0)
    seen = {}
    for _ in range(30):
        r = get(sim, "/org/teams", **PARAMS)
        seen[r.status_code] = r.headers["Content-Type"]
        if r.status_code == 500:
            assert r.text.startswith("<!DOCTYPE html>") and "Server Error" in r.text
    assert seen[500] == "text/html; charset=utf-8"
    assert set(seen) <= {500, 502, 503, 504} and len(seen) >= 3
    # Errors by the rules are not replaced by faults.
    assert get(sim, "/org/teams", limit=0).status_code == 400


def test_truncated_body_is_a_complete_http_200_that_does_not_parse(make_litmos_sim):
    sim = make_litmos_sim(truncate_rate=1.0)
    r = get(sim, "/org/results/details", **PARAMS)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(r.content)
    with pytest.raises(Exception):
        xml_records(r.text, "UserResult")
    assert sim.requests()[-1].fault == "truncate"


def test_dropped_connection(make_litmos_sim):
    sim = make_litmos_sim(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        get(sim, "/org/teams", **PARAMS)
    rec = sim.requests()[-1]
    assert (rec.status, rec.fault, rec.path) == (0, "drop", "/org/teams")


def test_set_faults_at_run_time_and_latency(make_litmos_sim):
    sim = make_litmos_sim()
    assert get(sim, "/org/teams", **PARAMS).status_code == 200
    sim.set_faults(fail_rate=1.0)
    assert get(sim, "/org/teams", **PARAMS).status_code >= 500
    sim.set_faults(fail_rate=0.0, latency_ms=20, latency_jitter_ms=10)
    assert get(sim, "/org/teams", **PARAMS).status_code == 200
    with pytest.raises(ValueError, match="set_faults\\(\\) got seed; allowed: rate_limit"):
        sim.set_faults(seed=3)
    with pytest.raises(ValueError, match="fail_rate must be between 0.0 and 1.0, got 2"):
        sim.set_faults(fail_rate=2)
