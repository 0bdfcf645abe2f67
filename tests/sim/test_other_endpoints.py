"""/achievements, collections and /modules/{id}."""
from __future__ import annotations

import json

from .conftest import get, parse_date, typed_like, xml_records


def test_achievements_descending_with_filters_and_paging(sim):
    truth = sim.ground_truth("/achievements")
    assert sim.keys("/achievements") == ("AchievementId",)
    dates = [t["AchievementDate"] for t in truth]
    assert dates == sorted(dates, reverse=True)
    org_truth = sim.ground_truth("/org/achievements")
    assert {t["AchievementId"] for t in truth} == {t["OriginalAchievementId"] for t in org_truth}
    page = xml_records(get(sim, "/achievements", limit=1000).text, "Achievement")
    assert [int(r["AchievementId"]) for r in page] == [t["AchievementId"] for t in truth[:1000]]
    assert any(r["CompliantTillDate"] is None for r in page)
    assert 'nil="true"' in get(sim, "/achievements", limit=50).text
    since = xml_records(get(sim, "/achievements", since="2026-01-10", limit=1000).text, "Achievement")
    assert [int(r["AchievementId"]) for r in since] == [
        t["AchievementId"] for t in truth if t["AchievementDate"] >= parse_date("2026-01-10T00:00:00")]
    since_dt = get(sim, "/achievements", since="2026-01-10 12:00:00", limit=1000)
    assert all(parse_date(r["AchievementDate"]) >= parse_date("2026-01-10T12:00:00")
               for r in xml_records(since_dt.text, "Achievement"))
    user = truth[0]["UserId"]
    mine = json.loads(get(sim, "/achievements", userid=user, format="json").text)
    assert [m["AchievementId"] for m in mine] == [t["AchievementId"] for t in truth if t["UserId"] == user]
    assert mine[0]["AchievementDate"].startswith("/Date(")
    second = xml_records(get(sim, "/achievements", start=10, limit=5).text, "Achievement")
    assert [int(r["AchievementId"]) for r in second] == [t["AchievementId"] for t in truth[10:15]]
    bad = get(sim, "/achievements", since="last week")
    assert (bad.status_code, bad.text) == (
        400, "Bad Request: since='last week' is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (UTC)")


def test_collections_listings_users_teams(sim):
    collections = sim.ground_truth("/collections")
    got = xml_records(get(sim, "/collections").text, "Collection")
    assert got == [{"Id": c["Id"], "Name": c["Name"]} for c in collections]
    all_listings = sim.ground_truth("/collectionlistings/{collectionid}")
    assert sim.keys("/collectionlistings/{collectionid}") == ("CollectionId", "Id")
    for c in collections:
        page = xml_records(get(sim, f"/collectionlistings/{c['Id']}").text, "Listing")
        expected = [t for t in all_listings if t["CollectionId"] == c["Id"]]
        assert [r["Id"] for r in page] == [t["Id"] for t in expected]
        assert sim.ground_truth(f"/collectionlistings/{c['Id']}") == [
            {k: v for k, v in t.items() if k != "CollectionId"} for t in expected]
    users = sim.ground_truth("/collectionlistings/{listingid}/users")
    teams = sim.ground_truth("/collectionlistings/{listingid}/teams")
    for listing in all_listings:
        lid = listing["Id"]
        u = json.loads(get(sim, f"/collectionlistings/{lid}/users", format="json").text)
        exp = [t for t in users if t["ListingId"] == lid]
        assert [(x["Id"], typed_like(x["AccessTill"], parse_date("2026-01-01T00:00:00"))) for x in u] == [
            (t["Id"], t["AccessTill"]) for t in exp]
        tm = xml_records(get(sim, f"/collectionlistings/{lid}/teams").text, "Team")
        assert [x["Id"] for x in tm] == [t["Id"] for t in teams if t["ListingId"] == lid]
    assert get(sim, "/collectionlistings/nope").status_code == 404
    assert get(sim, "/collectionlistings/nope/users").status_code == 404
    assert get(sim, "/collections", limit=1).text.count("<Collection>") == 1


def test_module_details_only_for_scorm_and_tincan(sim):
    modules = sim.ground_truth("/org/modules")
    details = {d["Id"]: d for d in sim.ground_truth("/modules/{moduleid}")}
    elearning = {m["Id"] for m in modules if m["ModuleType"] in ("Scorm", "TinCan")}
    assert set(details) == elearning and elearning
    mid = sorted(elearning)[0]
    r = get(sim, f"/modules/{mid}")
    assert r.status_code == 200 and r.text.startswith('<Module xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Id>')
    assert "<ModuleType>9</ModuleType>" in r.text
    j = json.loads(get(sim, f"/modules/{mid}", format="json").text)
    assert j["ModuleType"] == 9 and j["Status"] in (
        "Queued", "Uploading", "ReadyToProcess", "Processing", "Ready", "Failed")
    assert j["Status"] == details[mid]["Status"]
    other = next(m["Id"] for m in modules if m["ModuleType"] not in ("Scorm", "TinCan"))
    r = get(sim, f"/modules/{other}")
    assert (r.status_code, r.text) == (404, f"Not Found: no SCORM or Tin Can module with id {other}")
