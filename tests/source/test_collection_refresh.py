"""The collection family (no delta endpoint) is read every run by default, or every N days.

Exact requests and warehouse rows against a scripted API whose clock (the ``Date`` header) the test
moves: a member added to a listing shows up in the run that re-reads the family and not before.
"""
from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from .fake_api import EMPTY, fake_api
from pipelines.sync import sync
from sources.litmos.exceptions import LitmosConfigError

FAMILY_PATHS = ("/collections", "/collectionlistings/c1", "/collectionlistings/l1/users",
                "/collectionlistings/l1/teams")


def _api(members: list[str]):
    def handler(path, q, h):
        if path == "/collections":
            return 200, b"<Collections><Collection><Id>c1</Id><Name>Onboarding</Name></Collection></Collections>", None
        if path == "/collectionlistings/c1":
            return 200, b"<Listings><Listing><Id>l1</Id><Name>All staff</Name><Active>true</Active></Listing></Listings>", None
        if path == "/collectionlistings/l1/users":
            users = "".join(f"<ListingUser><Id>{u}</Id><Active>true</Active></ListingUser>" for u in members)
            return 200, f"<ListingUsers>{users}</ListingUsers>".encode(), None
        return 200, EMPTY, None

    return fake_api(handler)


def _family_requests(api) -> list[str]:
    return [r.path for r in api.requests if r.path.startswith("/collection")]


def _members(db: str) -> list[str]:
    with duckdb.connect(db, read_only=True) as con:
        return [r[0] for r in con.execute(
            "select id from litmos_raw.collection_listing_users order by id").fetchall()]


def test_family_is_read_when_due_or_named_and_left_alone_in_between(tmp_path, monkeypatch):
    members = ["u1"]
    db = str(tmp_path / "w.duckdb")
    with _api(members) as api:
        args = dict(credentials=db, api_key="k" * 20, base_url=api.base_url, requests_per_minute=0,
                    state_dir=str(tmp_path / "state"), start_date="2025-03-09")

        first = sync(collection_refresh_days=7, **args)  # never read: due
        assert sorted(_family_requests(api)) == sorted(FAMILY_PATHS)
        assert _members(db) == ["u1"] and not first.resources["collections"].skipped

        members.append("u2")
        api.now += timedelta(days=6, hours=11)  # 03-16 23:30: 6 UTC days after 03-10, not due
        api.requests.clear()
        second = sync(collection_refresh_days=7, **args)
        assert _family_requests(api) == []
        assert [t for t, s in second.resources.items() if s.skipped] == [
            "collections", "collection_listings", "collection_listing_users", "collection_listing_teams"]
        assert second.resources["collection_listing_users"].requests == 0
        assert _members(db) == ["u1"]  # kept, not emptied by a replace
        assert second.resources["users"].windows_done == 2  # the delta resources ran as usual (03-09..03-17)

        api.now += timedelta(hours=1)  # 03-17 00:30: the 7th UTC day after the last full read
        api.requests.clear()
        third = sync(collection_refresh_days=7, **args)
        assert sorted(_family_requests(api)) == sorted(FAMILY_PATHS)
        assert _members(db) == ["u1", "u2"] and not third.resources["collection_listing_users"].skipped

        members.append("u3")
        api.now += timedelta(days=1)
        api.requests.clear()
        sync(collection_refresh_days=7, resources=["collection_listing_users"], **args)  # named: read now
        assert sorted(_family_requests(api)) == ["/collectionlistings/c1", "/collectionlistings/l1/users",
                                                 "/collections"]
        assert _members(db) == ["u1", "u2", "u3"]

        members.append("u4")
        api.now += timedelta(days=1)
        api.requests.clear()
        sync(**args)  # the default: every run
        assert sorted(_family_requests(api)) == sorted(FAMILY_PATHS)
        assert _members(db) == ["u1", "u2", "u3", "u4"]

        monkeypatch.setenv("SOURCES__LITMOS__COLLECTION_REFRESH_DAYS", "30")  # the config way
        members.append("u5")
        api.now += timedelta(days=1)
        api.requests.clear()
        assert sync(**args).resources["collections"].skipped
        assert _family_requests(api) == [] and _members(db) == ["u1", "u2", "u3", "u4"]


@pytest.mark.parametrize("value", [-1, 1.5, "weekly"])
def test_bad_refresh_interval_fails_before_any_request(tmp_path, value):
    with _api([]) as api:
        with pytest.raises(LitmosConfigError) as info:
            sync(credentials=str(tmp_path / "w.duckdb"), api_key="k" * 20, base_url=api.base_url,
                 state_dir=str(tmp_path / "state"), collection_refresh_days=value)
    assert str(info.value) == (f"bad collection_refresh_days {value!r}: use 0 (every run) or a whole number of "
                               "days, e.g. 7 (SOURCES__LITMOS__COLLECTION_REFRESH_DAYS)")
    assert api.requests == []


def test_run_history_says_skipped_and_keeps_the_last_full_read(tmp_path):
    from pipelines import runner
    from pipelines.status import collect_status

    db, state = str(tmp_path / "w.duckdb"), str(tmp_path / "state")
    with _api(["u1"]) as api:
        def run():
            return runner.run_sync(options=runner.prepare(
                credentials=db, api_key="k" * 20, base_url=api.base_url, requests_per_minute=0,
                state_dir=state, start_date="2025-03-09", run_dbt=False, collection_refresh_days=7))

        first = run()
        api.now += timedelta(days=1)
        second = run()
    assert {r.resource: r.status for r in first.resources}["collection_listing_users"] == "success"
    statuses = {r.resource: r.status for r in second.resources}
    assert {t for t, s in statuses.items() if s == "skipped"} == {
        "collections", "collection_listings", "collection_listing_users", "collection_listing_teams"}
    assert {s for t, s in statuses.items() if not t.startswith("collection")} == {"success"}
    rows = {r["resource"]: r for r in collect_status("duckdb", db, "litmos_raw", state)}
    users = rows["collection_listing_users"]
    assert (users["last_status"], users["rows_in_table"]) == ("skipped", 1)
    # the last full read is the first run's, not the skipping one's
    assert first.started_at <= users["last_success_at"] <= first.finished_at < second.started_at
