"""The API key never leaves for another origin: cross-origin redirects fail at once, same-origin ones are
followed a few times at most."""
from __future__ import annotations

import pytest

from .fake_api import fake_api
from sources.litmos.client import LitmosClient, same_origin
from sources.litmos.exceptions import LitmosRedirectError
from sources.litmos.fetch import Fetcher
from sources.litmos.settings import ENDPOINTS
from sources.litmos.windows import Window, parse_user_date

KEY = "S3cr3t-K3y-0123456789"
WINDOW = Window(parse_user_date("2025-03-01", "x"), parse_user_date("2025-03-08", "x"))
USERS = b'<Users xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><User><Id>u1</Id></User></Users>'


def _client(api, **kw) -> LitmosClient:
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("max_retries", 2)
    return LitmosClient(api.base_url, KEY, "tests", **kw)


def _fetch(client):
    return Fetcher(client).fetch_window(ENDPOINTS["users"], WINDOW)


def _host(api) -> str:
    return api.base_url.split("/")[2]


def test_cross_origin_redirect_fails_at_once_and_the_other_host_never_sees_the_key():
    with fake_api(lambda p, q, h: (200, USERS, None)) as other:
        login = other.base_url.replace("/v1.svc", "/login?next=%2Fv1.svc")
        with fake_api(lambda p, q, h: (302, b"", {"Location": login})) as api:
            with pytest.raises(LitmosRedirectError) as info:
                _fetch(_client(api))
    assert str(info.value) == (
        f"GET /org/users/details: HTTP 302 redirect to another host ({_host(other)}, not {_host(api)}); the "
        "API key is only sent to the configured host - check SOURCES__LITMOS__BASE_URL (your region's API "
        "host, e.g. https://api.litmos.com/v1.svc)")
    assert [r.path for r in api.requests] == ["/org/users/details"]  # not retried
    assert other.requests == []


def test_cross_origin_redirect_in_query_mode_keeps_the_key_out_of_the_error():
    with fake_api(lambda p, q, h: (200, USERS, None)) as other:
        with fake_api(lambda p, q, h: (307, b"", {"Location": f"{other.base_url}/org/users/details?apikey={KEY}"})) as api:
            with pytest.raises(LitmosRedirectError) as info:
                _fetch(_client(api, auth_in_query=True))
    assert KEY not in str(info.value) and "HTTP 307 redirect to another host" in str(info.value)
    assert other.requests == []


def test_same_origin_redirects_are_followed_with_the_key_a_few_times_at_most():
    def moved(path, q, h):
        if path == "/org/users/details":
            return 301, b"", {"Location": "/v1.svc/org/users/details/"}
        return 200, USERS, None

    with fake_api(moved) as api:
        (table,) = _fetch(_client(api))
    assert table.column("id").to_pylist() == ["u1"]
    assert [r.path for r in api.requests] == ["/org/users/details", "/org/users/details/"]
    assert all(r.headers["apikey"] == KEY for r in api.requests)
    assert api.requests[1].params["source"] == "tests" and api.requests[1].params["start"] == "0"

    with fake_api(lambda p, q, h: (302, b"", {"Location": p.replace("/org", "/v1.svc/org") + "x"})) as api:
        with pytest.raises(LitmosRedirectError) as info:
            _fetch(_client(api))
    assert str(info.value) == (
        "GET /org/users/details: more than 3 redirects (the last to /v1.svc/org/users/detailsxxxx); check "
        "SOURCES__LITMOS__BASE_URL (your region's API host, e.g. https://api.litmos.com/v1.svc)")
    assert [r.path for r in api.requests] == ["/org/users/details", "/org/users/detailsx", "/org/users/detailsxx",
                                             "/org/users/detailsxxx"]


def test_origin_comparison_counts_scheme_host_and_default_ports():
    assert same_origin("https://api.litmos.com/v1.svc", "https://API.litmos.com:443/v1.svc/x")
    assert not same_origin("https://api.litmos.com/v1.svc", "http://api.litmos.com/v1.svc/x")  # plain text
    assert not same_origin("https://api.litmos.com/v1.svc", "https://api.litmos.com.evil.net/v1.svc")
    assert not same_origin("http://127.0.0.1:8080/v1.svc", "http://127.0.0.1:8081/v1.svc")
