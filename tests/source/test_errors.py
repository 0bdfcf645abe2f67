"""Each bad input / bad answer gives its one-line, key-free error; nothing already loaded is lost."""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

import duckdb
import pytest

from .fake_api import EMPTY, fake_api
from pipelines.sync import read_cursors, sync
from sources.litmos.exceptions import (
    LitmosAuthError,
    LitmosConfigError,
    LitmosConnectionError,
    LitmosMalformedResponseError,
    LitmosRequestError,
    LitmosUnavailableError,
)

KEY = "S3cr3t-K3y-0123456789"
UTC = timezone.utc
TEAMS = (b'<Teams xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Team><Id>t1</Id><Name>A</Name>'
         b"<Active>true</Active><UpdatedDate>2025-03-09T10:00:00</UpdatedDate></Team></Teams>")


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__BACKOFF_BASE", "0.01")
    monkeypatch.setenv("SOURCES__LITMOS__MAX_RETRIES", "3")


def _sync(api, tmp_path, **kw):
    args = dict(credentials=str(tmp_path / "w.duckdb"), api_key=KEY, base_url=api.base_url if api else None,
                requests_per_minute=0, state_dir=str(tmp_path / "state"), resources=["teams"],
                start_date="2025-02-01")
    args.update(kw)
    return sync(**args)


def _one_line(exc: Exception) -> str:
    text = str(exc)
    assert "\n" not in text and KEY not in text
    return text


def test_wrong_key_403_fails_at_once_without_touching_state(tmp_path):
    with fake_api(lambda p, q, h: (403, b"<html><body><h1>403 Forbidden</h1></body></html>",
                                   {"Content-Type": "text/html"})) as api:
        with pytest.raises(LitmosAuthError) as info:
            _sync(api, tmp_path)
    assert _one_line(info.value) == (
        "GET /org/teams: HTTP 403 Forbidden (403 Forbidden) - the API key was rejected; check "
        "SOURCES__LITMOS__API_KEY (an administrator's key), SOURCES__LITMOS__SOURCE and that "
        "SOURCES__LITMOS__BASE_URL is your region's host")
    assert len(api.requests) == 1
    assert not (tmp_path / "state").exists() and not (tmp_path / "w.duckdb").exists()


def test_seven_day_violation_400_names_endpoint_and_keeps_loaded_batches(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__WINDOWS_PER_BATCH", "1")

    def handler(path, q, h):
        if q.get("since", "").startswith("2025-02-15"):
            return 400, b"The date range must be less than or equal to 7 days", None
        return 200, (TEAMS if q.get("since", "").startswith("2025-02-01") else EMPTY), None

    with fake_api(handler) as api:
        with pytest.raises(LitmosRequestError) as info:
            _sync(api, tmp_path)
    assert _one_line(info.value) == (
        "GET /org/teams: HTTP 400 (The date range must be less than or equal to 7 days) - the API rejected "
        "the parameters; since/to must be 'YYYY-MM-DD HH:MM:SS' at most 7 days apart, limit 1..1000, "
        "source <= 50 characters")
    # Batches 1 and 2 (Feb 1-15) were committed before the failing window: rows and cursor stay.
    rows = duckdb.connect(str(tmp_path / "w.duckdb")).sql("select id from litmos_raw.teams").fetchall()
    assert rows == [("t1",)]
    assert read_cursors(str(tmp_path / "state"))["teams"] == datetime(2025, 2, 15, tzinfo=UTC)


def test_503_forever_gives_up_after_bounded_retries(tmp_path):
    with fake_api(lambda p, q, h: (503, b"The API rating limit has been exceeded", None)) as api:
        with pytest.raises(LitmosUnavailableError) as info:
            _sync(api, tmp_path)
    assert _one_line(info.value) == (
        "GET /org/teams: still failing after 7 attempts (HTTP 503 (The API rating limit has been exceeded)); "
        "the API is rate limiting or down - lower requests_per_minute or rerun later (loaded data is kept)")
    assert len(api.requests) == 7  # rate-limit answers get twice the retries (max_retries=3 here)


def test_malformed_body_after_retries(tmp_path):
    seen = []

    def handler(path, q, h):
        seen.append(path)
        if len(seen) == 1:
            return 200, EMPTY, None  # the probe that reads the server's clock
        return 200, b"<Teams><Team><Id>t1</Id><Na", None

    with fake_api(handler) as api:
        with pytest.raises(LitmosMalformedResponseError) as info:
            _sync(api, tmp_path)
    assert _one_line(info.value).startswith(
        "GET /org/teams: unreadable response after 4 attempts (/org/teams: malformed XML (")


def test_unreachable_host_and_dns_failure(tmp_path):
    with pytest.raises(LitmosConnectionError) as info:
        _sync(None, tmp_path, base_url="http://127.0.0.1:9/v1.svc")
    assert _one_line(info.value) == (
        "GET /org/teams: cannot reach http://127.0.0.1:9/v1.svc after 4 attempts (connection refused); "
        "check SOURCES__LITMOS__BASE_URL and the network, then rerun (loaded data is kept)")
    with pytest.raises(LitmosConnectionError, match=r"\(DNS lookup failed\)"):
        _sync(None, tmp_path, base_url="http://litmos-host-that-does-not-exist.invalid/v1.svc")
    assert not (tmp_path / "state").exists()


def test_bad_inputs_fail_before_any_request(tmp_path):
    with fake_api(lambda p, q, h: (200, EMPTY, None)) as api:
        with pytest.raises(LitmosConfigError, match=r"^unknown resource 'coursez'; choose from: users, "):
            _sync(api, tmp_path, resources=["coursez"])
        with pytest.raises(LitmosConfigError) as info:
            _sync(api, tmp_path, end_date="2025-02-30")
        assert str(info.value) == "bad end_date '2025-02-30': use a date like 2025-01-31 (YYYY-MM-DD, UTC)"
        with pytest.raises(LitmosConfigError) as info:
            _sync(api, tmp_path, start_date="2025-03-01", end_date="2025-02-01")
        assert str(info.value) == "bad end_date 2025-02-01: it is before the start date 2025-03-01"
        with pytest.raises(LitmosConfigError, match=r"^bad lookback_days -1: use 0 or more days$"):
            _sync(api, tmp_path, lookback_days=-1)
        with pytest.raises(LitmosConfigError, match=r"^bad base_url 'api.litmos.com': use a URL like "):
            _sync(api, tmp_path, base_url="api.litmos.com")
        with pytest.raises(LitmosConfigError, match=r"^bad destination 'snowflake': use 'duckdb' or 'postgres'$"):
            _sync(api, tmp_path, destination="snowflake")
        assert api.requests == [] and not (tmp_path / "state").exists()


def test_missing_key_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCES__LITMOS__API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LitmosConfigError) as info:
        _sync(None, tmp_path, api_key=None, base_url="http://127.0.0.1:9/v1.svc")
    assert str(info.value) == (
        "no Litmos API key: set SOURCES__LITMOS__API_KEY or sources.litmos.api_key in .dlt/secrets.toml")


def test_key_in_query_mode_never_leaks_into_logs_errors_or_state(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    calls = {"n": 0}

    def handler(path, q, h):
        calls["n"] += 1
        if q.get("apikey") != KEY:
            return 403, b"bad key", None
        if calls["n"] == 3:
            return 502, f"<html>proxy error for /v1.svc{path}?apikey={KEY}</html>".encode(), {"Content-Type": "text/html"}
        return 200, (TEAMS if q.get("since", "").startswith("2025-03-08") else EMPTY), None

    with fake_api(handler) as api:
        result = _sync(api, tmp_path, auth_in_query=True, start_date="2025-03-01")
    assert result.retries_total == 1 and result.resources["teams"].rows == 1
    leaked = [line for line in caplog.text.splitlines() if KEY in line]
    assert leaked == [], leaked
    assert "apikey=***" in caplog.text, [l for l in caplog.text.splitlines() if "v1.svc" in l][:5]
    for root, _, files in os.walk(tmp_path):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                assert KEY.encode() not in fh.read(), name
