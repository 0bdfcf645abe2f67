"""One record that cannot be decoded no longer stops every table: it is kept raw in ``_litmos_rejects``,
committed with its batch, every other row and table loads, and the CLI exits 3 with one line."""
from __future__ import annotations

import duckdb

from pipelines.sync import read_cursors, sync
from .fake_api import EMPTY, empty_page, fake_api

XSI = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"'
TEAMS = (f"<Teams {XSI}><Team><Id>t1</Id><Name>Ops</Name><Active>true</Active>"
         "<UpdatedDate>2025-03-09T10:00:00Z</UpdatedDate></Team></Teams>").encode()
USERS = (f"<Users {XSI}>"
         "<User><Id>u1</Id><UserName>ann</UserName><UpdatedDate>2025-03-09T10:00:00Z</UpdatedDate></User>"
         "<User><Id>u2</Id><UserName>B\xff\xfeo</UserName><UpdatedDate>2025-03-09T11:00:00Z</UpdatedDate></User>"
         "<User><Id>u3</Id><UserName>cy</UserName><UpdatedDate>2025-03-09T12:00:00Z</UpdatedDate></User>"
         "</Users>").encode("latin-1")


def _handler(path, query, headers):
    since = query.get("since") or ""
    if since.startswith("2025-03-0"):  # the one window of the run (the probe asks for today)
        if path == "/org/users/details":
            return 200, USERS, None
        if path == "/org/teams":
            return 200, TEAMS, None
    if path == "/org/teams":
        return 200, EMPTY.replace(b"Items", b"Teams"), None
    return 200, empty_page(path), None


def test_an_undecodable_user_is_quarantined_and_everything_else_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__BACKOFF_BASE", "0.001")
    db = str(tmp_path / "w.duckdb")
    with fake_api(_handler) as api:
        result = sync(credentials=db, api_key="k-0123456789", base_url=api.base_url, requests_per_minute=0,
                      state_dir=str(tmp_path / "state"), resources=["users", "teams"], start_date="2025-03-04")
    assert result.rejects == 1
    assert result.notes == [
        "1 record(s) of users could not be decoded (not valid UTF-8) and are kept raw in "
        "litmos_raw._litmos_rejects; everything else loaded - ask Litmos support to fix those records"]
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("select id from litmos_raw.users order by id").fetchall() == [("u1",), ("u3",)]
        assert con.execute("select id from litmos_raw.teams").fetchall() == [("t1",)]
        rejects = con.execute("select endpoint, table_name, start_offset, raw from litmos_raw._litmos_rejects"
                              ).fetchall()
    assert rejects == [("/org/users/details", "users", 0,
                        "<User><Id>u2</Id><UserName>B\\xff\\xfeo</UserName><UpdatedDate>2025-03-09T11:00:00Z"
                        "</UpdatedDate></User>")]
    cursors = read_cursors(str(tmp_path / "state"))
    assert cursors["users"] is not None and cursors["teams"] is not None
