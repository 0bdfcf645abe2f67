"""A 200 that is not the endpoint's list is a malformed response (retried, then one error), never an
empty page; non-transient answers are not retried; an undecodable record is quarantined, not fatal."""
from __future__ import annotations

import pytest

from .fake_api import EMPTY, fake_api
from sources.litmos.client import LitmosClient
from sources.litmos.exceptions import LitmosMalformedResponseError, LitmosNotFoundError, LitmosRequestError
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


# ---- non-transient answers, removals, undecodable records ------------------------------------------------

LISTING_USERS = ("<ListingUsers {xsi}><ListingUser><Id>u1</Id><FirstName>Ann</FirstName></ListingUser>"
                 "<ListingUser><Id>u2</Id><FirstName>{bad}</FirstName></ListingUser>"
                 "<ListingUser><Id>u3</Id><FirstName>Cy</FirstName></ListingUser></ListingUsers>")


@pytest.mark.parametrize("status", [400, 404, 405, 406, 410, 422])
def test_client_errors_other_than_429_are_not_retried(status):
    with fake_api(lambda p, q, h: (status, b"no", {"Content-Type": "text/plain"})) as api:
        with pytest.raises(LitmosRequestError):
            _fetch(api, "teams")
    assert len(api.requests) == 1


def test_404_on_a_child_of_a_full_refresh_list_is_a_removal(caplog):
    def handler(path, q, h):
        if path == "/collectionlistings/gone/users":
            return 404, b"Not Found: no collection listing with id gone", {"Content-Type": "text/plain"}
        return 200, LISTING_USERS.format(xsi=XSI, bad="Bo").encode(), None

    with fake_api(handler) as api:
        fetcher = Fetcher(_client(api))
        assert fetcher.fetch_window(ENDPOINTS["collection_listing_users"], None, parent_id="gone") == []
        (table,) = fetcher.fetch_window(ENDPOINTS["collection_listing_users"], None, parent_id="l1")
    assert table.column("listing_id").to_pylist() == ["l1"] * 3
    assert [r.path for r in api.requests] == ["/collectionlistings/gone/users", "/collectionlistings/l1/users"]
    assert ("GET /collectionlistings/gone/users: 404, the collection listing gone no longer exists (deleted "
            "since its list was read); its rows are removed") in caplog.text
    # A 404 on a delta endpoint is still an error (a wrong base URL must not look like an empty org).
    with fake_api(lambda p, q, h: (404, b"Not Found", {"Content-Type": "text/plain"})) as api:
        with pytest.raises(LitmosNotFoundError):
            _fetch(api, "teams")


def test_an_undecodable_record_is_quarantined_and_the_rest_of_the_page_loads(caplog):
    body = LISTING_USERS.format(xsi=XSI, bad="Bo").encode().replace(b"Bo", b"B\xff\xfeo")
    with fake_api(lambda p, q, h: (200, body, None)) as api:
        fetcher = Fetcher(_client(api, max_retries=5))
        (table,) = fetcher.fetch_window(ENDPOINTS["collection_listing_users"], None, parent_id="l1")
    assert table.column("id").to_pylist() == ["u1", "u3"]
    assert len(api.requests) == 2  # the same bytes twice: not transient, no further retries
    (reject,) = fetcher.rejects
    assert (reject.endpoint, reject.table, reject.since, reject.to, reject.start, reject.parent_id) == (
        "/collectionlistings/l1/users", "collection_listing_users", None, None, 0, "l1")
    assert reject.reason == "invalid UTF-8 at byte 36 of the record (0xff: invalid start byte)"
    assert reject.raw == "<ListingUser><Id>u2</Id><FirstName>B\\xff\\xfeo</FirstName></ListingUser>"
    assert ("GET /collectionlistings/l1/users: 1 record(s) that are not valid UTF-8 quarantined in "
            "_litmos_rejects (start=0)") in caplog.text


def test_undecodable_json_record_is_quarantined_and_paging_counts_it():
    good = ",".join(f'{{"Id":"t{i}","Name":"ok"}}' for i in range(999))
    page1 = f'[{good},{{"Id":"bad","Name":"B\xff"}}]'.encode("latin-1")
    page2 = b'[{"Id":"t999","Name":"last"}]'

    def handler(path, q, h):
        return 200, page1 if q["start"] == "0" else page2, {"Content-Type": "application/json"}

    with fake_api(handler) as api:
        fetcher = Fetcher(_client(api, response_format="json"))
        tables = fetcher.fetch_window(ENDPOINTS["teams"], WINDOW)
    assert sum(t.num_rows for t in tables) == 1000
    assert [r.params["start"] for r in api.requests] == ["0", "0", "1000"]  # 1000 records received
    (reject,) = fetcher.rejects
    assert (reject.since, reject.to, reject.start) == (WINDOW.since, WINDOW.to, 0)
    assert reject.reason == "invalid UTF-8 at byte 21 of the record (0xff: invalid start byte)"
    assert reject.raw == '{"Id":"bad","Name":"B\\xff"}'


def test_undecodable_bytes_outside_any_record_fail_after_the_second_identical_body():
    body = f"<Teams {XSI}><Team><Id>t1</Id></Team>\xff</Teams>".encode("latin-1")
    with fake_api(lambda p, q, h: (200, body, None)) as api:
        fetcher = Fetcher(_client(api, max_retries=5))
        with pytest.raises(LitmosMalformedResponseError) as info:
            fetcher.fetch_window(ENDPOINTS["teams"], WINDOW)
    assert str(info.value).startswith(
        "GET /org/teams: unreadable response after 2 attempts (/org/teams: the body is not valid UTF-8 outside "
        "its records (byte 0xff), so no record can be trusted); ")
    assert len(api.requests) == 2 and fetcher.rejects == []


def test_a_body_cut_inside_a_character_is_retried_not_quarantined():
    full = f"<Teams {XSI}><Team><Id>t1</Id><Name>Caf\u00e9</Name></Team></Teams>".encode()
    bodies = [full[:full.index(b"\xa9")], full]  # the first cut between the two bytes of the e-acute

    with fake_api(lambda p, q, h: (200, bodies.pop(0), None)) as api:
        fetcher = Fetcher(_client(api))
        (table,) = fetcher.fetch_window(ENDPOINTS["teams"], WINDOW)
    assert table.column("name").to_pylist() == ["Caf\u00e9"] and fetcher.rejects == []
    assert len(api.requests) == 2


def test_a_page_with_keyless_records_does_not_end_the_window_early():
    page1 = "".join(f"<Team><Id>t{i}</Id></Team>" for i in range(999)) + "<Team><Name>no id</Name></Team>"
    page2 = "<Team><Id>t999</Id></Team>"

    def handler(path, q, h):
        return 200, f"<Teams {XSI}>{page1 if q['start'] == '0' else page2}</Teams>".encode(), None

    with fake_api(handler) as api:
        tables = _fetch(api, "teams")
    assert [r.params["start"] for r in api.requests] == ["0", "1000"]
    assert sum(t.num_rows for t in tables) == 1000


def test_sync_against_a_sign_in_page_fails_and_moves_no_cursor(tmp_path, monkeypatch):
    """On today's main this run exited 0 with 0 users and the users cursor moved past the windows."""
    from pipelines.sync import read_cursors, sync

    monkeypatch.setenv("SOURCES__LITMOS__BACKOFF_BASE", "0.001")
    monkeypatch.setenv("SOURCES__LITMOS__MAX_RETRIES", "2")

    def handler(path, q, h):
        if path == "/org/teams":
            return 200, EMPTY, None  # the probe that reads the server's clock
        return 200, SIGN_IN, {"Content-Type": "text/xml; charset=utf-8"}

    with fake_api(handler) as api:
        with pytest.raises(LitmosMalformedResponseError, match=r"^GET /org/users/details: unreadable response "
                           r"after 3 attempts \(/org/users/details: the body's root element is <html>"):
            sync(credentials=str(tmp_path / "w.duckdb"), api_key="S3cr3t-K3y-0123456789", base_url=api.base_url,
                 requests_per_minute=0, state_dir=str(tmp_path / "state"), resources=["users"],
                 start_date="2025-03-06")
    assert read_cursors(str(tmp_path / "state")).get("users") is None
    assert [r.path for r in api.requests].count("/org/users/details") == 3
