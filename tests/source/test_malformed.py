"""A 200 that is not the endpoint's list is a malformed response (retried, then one error), never an
empty page; non-transient answers are not retried; an undecodable record is quarantined, not fatal."""
from __future__ import annotations

import pytest

from .fake_api import fake_api
from sources.litmos.client import LitmosClient
from sources.litmos.exceptions import LitmosMalformedResponseError
from sources.litmos.fetch import Fetcher
from sources.litmos.settings import ENDPOINTS
from sources.litmos.windows import Window, parse_user_date

WINDOW = Window(parse_user_date("2025-03-01", "x"), parse_user_date("2025-03-08", "x"))
XSI = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"'
# What an SSO proxy or captive portal serves: well-formed XHTML, so an XML parser reads it happily.
SIGN_IN = (b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Sign in</title></head><body>'
           b'<form action="/login"><input name="user"/><input name="password"/></form></body></html>')


def _client(api, **kw) -> LitmosClient:
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("max_retries", 2)
    return LitmosClient(api.base_url, "key", "tests", **kw)


def _fetch(api, table: str, **kw):
    return Fetcher(_client(api, **kw)).fetch_window(ENDPOINTS[table], WINDOW)


def test_sign_in_page_served_as_text_xml_is_malformed_not_an_empty_page():
    with fake_api(lambda p, q, h: (200, SIGN_IN, {"Content-Type": "text/xml; charset=utf-8"})) as api:
        with pytest.raises(LitmosMalformedResponseError) as info:
            _fetch(api, "users")
    assert str(info.value) == (
        "GET /org/users/details: unreadable response after 3 attempts (/org/users/details: the body's root "
        "element is <html>, not <Users>); a sign-in page, proxy or other server may be answering: check that "
        "SOURCES__LITMOS__BASE_URL is the Litmos API host, then rerun (loaded data is kept)")
    assert [(r.path, r.params["start"]) for r in api.requests] == [("/org/users/details", "0")] * 3


def test_another_endpoints_list_is_malformed():
    teams = f"<Teams {XSI}><Team><Id>t1</Id></Team></Teams>".encode()
    with fake_api(lambda p, q, h: (200, teams, None)) as api:
        with pytest.raises(LitmosMalformedResponseError, match=r"root element is <Teams>, not <Users>\)"):
            _fetch(api, "users")
    assert len(api.requests) == 3


def test_json_body_that_is_not_the_documented_array_is_malformed():
    bodies = [b'{"Message":"Please sign in"}', b'{"Users":[{"Id":"u1"}]}', b'"ok"']
    for body in bodies:
        with fake_api(lambda p, q, h: (200, body, {"Content-Type": "application/json"})) as api:
            with pytest.raises(LitmosMalformedResponseError) as info:
                _fetch(api, "users", response_format="json")
        assert "/org/users/details: the JSON body is a" in str(info.value) and "not a list of records" in str(info.value)
        assert len(api.requests) == 3
    assert str(info.value).startswith(
        "GET /org/users/details: unreadable response after 3 attempts (/org/users/details: the JSON body is "
        "a string, not a list of records)")


def test_documented_roots_and_empty_pages_still_load():
    users = f'<Users {XSI}><User><Id>u1</Id></User></Users>'.encode()
    with fake_api(lambda p, q, h: (200, users, None)) as api:
        (table,) = _fetch(api, "users")
    assert table.column("id").to_pylist() == ["u1"]
    with fake_api(lambda p, q, h: (200, f"<Users {XSI}/>".encode(), None)) as api:
        assert _fetch(api, "users") == []
    with fake_api(lambda p, q, h: (200, b"[]", {"Content-Type": "application/json"})) as api:
        assert _fetch(api, "users", response_format="json") == []
    module = f'<Module {XSI}><Id>m1</Id></Module>'.encode()
    with fake_api(lambda p, q, h: (200, module, None)) as api:
        table = Fetcher(_client(api)).fetch_detail(ENDPOINTS["module_details"], "m1")
    assert table.column("id").to_pylist() == ["m1"]
    with fake_api(lambda p, q, h: (200, f"<Modules {XSI}/>".encode(), None)) as api:
        with pytest.raises(LitmosMalformedResponseError, match=r"root element is <Modules>, not <Module>\)"):
            Fetcher(_client(api)).fetch_detail(ENDPOINTS["module_details"], "m1")
