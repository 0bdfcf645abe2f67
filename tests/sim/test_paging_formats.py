"""Paging returns every record exactly once; XML and JSON parse back to the ground truth; quirks on/off."""
from __future__ import annotations

import json

import pytest

from .conftest import NOW, ORG, fmt, get, parse_date, typed_like, windows, xml_records

HISTORY = 62  # days covered by the windows (history is 60 days up to NOW)


def fetch_all(sim, path: str, item: str, limit: int, fmt_: str = "xml") -> tuple[list[dict], list[int]]:
    """Read the whole history of an /org endpoint in day-aligned 7-day windows; returns (records, page sizes).

    Windows are inclusive at both ends, so a record stamped exactly on a shared boundary (00:00:00)
    is in two windows: it is kept once here, after checking that this is the only way it repeats.
    """
    records, sizes, seen = [], [], set()
    key = sim.keys(path)
    for since, to in windows(NOW, HISTORY):
        start = 0
        in_window = set()
        while True:
            extra = {"format": "json"} if fmt_ == "json" else {}
            r = get(sim, path, since=fmt(since), to=fmt(to), start=start, limit=limit, **extra)
            assert r.status_code == 200, r.text
            page = json.loads(r.text) if fmt_ == "json" else xml_records(r.text, item)
            for rec in page:
                k = tuple(str(rec[f]) for f in key)
                assert k not in in_window, f"{path}: {k} twice in one window"
                in_window.add(k)
                if k in seen:
                    ts = rec.get("LastLogin") if path == "/org/users/logins" else (
                        rec.get("UpdatedDate") or rec.get("CreatedDate"))
                    assert parse_date(ts) == since, f"{path}: {k} in two windows but not on their boundary"
                    continue
                seen.add(k)
                records.append(rec)
            sizes.append(len(page))
            start += len(page)
            if len(page) < limit:
                break
    return records, sizes


def check_against_truth(sim, path: str, records: list[dict]) -> None:
    """Records (wire form) equal the ground truth: same count, same keys, every value equal once typed."""
    truth = sim.ground_truth(path)
    key = sim.keys(path)
    assert len(records) == len(truth), path
    samples = {}
    for rec in truth:
        for name, value in rec.items():
            if value is not None:
                samples.setdefault(name, value)

    def norm(value):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    by_key = {tuple(norm(rec[f]) for f in key): rec for rec in truth}
    assert len(by_key) == len(truth), f"{path}: key {key} not unique"
    seen = set()
    for rec in records:
        k = tuple(norm(typed_like(rec[f], samples.get(f, ""))) for f in key)
        assert k not in seen, f"{path}: {k} returned twice"
        seen.add(k)
        expected = by_key[k]
        assert set(rec) == set(expected), (path, set(rec) ^ set(expected))
        for name, exp in expected.items():
            assert typed_like(rec[name], samples.get(name, "")) == exp, (path, k, name, rec[name], exp)


@pytest.mark.parametrize("path", list(ORG))
def test_xml_paging_exactly_once_and_parses_to_ground_truth(sim, path):
    records, sizes = fetch_all(sim, path, ORG[path][1], limit=37)
    check_against_truth(sim, path, records)


def test_json_paging_parses_to_ground_truth(sim):
    for path in ("/org/results/details", "/org/users/details", "/org/modules/results", "/org/users/logins",
                 "/org/courses", "/org/learningpaths/users", "/org/teams/courses"):
        records, _ = fetch_all(sim, path, ORG[path][1], limit=200, fmt_="json")
        check_against_truth(sim, path, records)


def test_oversize_quirk_on_and_off(make_litmos_sim):
    sim = make_litmos_sim()
    _, sizes = fetch_all(sim, "/org/results/details", "UserResult", limit=20)
    assert max(sizes) > 20 and max(sizes) <= 25
    sim.set_faults(oversize_pages=False)
    records, sizes = fetch_all(sim, "/org/results/details", "UserResult", limit=20)
    assert max(sizes) == 20
    check_against_truth(sim, "/org/results/details", records)


def test_oversize_is_deterministic_per_request(sim):
    params = dict(since="2026-01-08 00:00:00", to="2026-01-15 00:00:00", limit=10)
    sizes = [[get(sim, "/org/results/details", start=s, **params).text.count("<UserResult>") for s in range(0, 60, 10)]
             for _ in range(2)]
    assert sizes[0] == sizes[1]


def test_empty_final_page_is_the_bare_root(make_litmos_sim):
    sim = make_litmos_sim(oversize_pages=False)
    params = dict(since="2026-01-08 00:00:00", to="2026-01-15 00:00:00")
    total = get(sim, "/org/results/details", limit=1000, **params).text.count("<UserResult>")
    assert 0 < total < 1000
    first = get(sim, "/org/results/details", limit=total, **params)
    assert first.text.count("<UserResult>") == total
    last = get(sim, "/org/results/details", limit=total, start=total, **params)
    assert last.text == '<UserResults xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'
    assert sim.requests()[-1].rows == 0
    sim.set_faults(empty_final_page=False)
    last = get(sim, "/org/results/details", limit=total, start=total, **params)
    assert last.text == '<UserResults xmlns:i="http://www.w3.org/2001/XMLSchema-instance"></UserResults>'
    assert get(sim, "/org/results/details", limit=total, start=total, format="json", **params).text == "[]"


def test_xml_shape_follows_the_docs(sim):
    params = dict(since="2026-01-08 00:00:00", to="2026-01-15 00:00:00", limit=1)
    body = get(sim, "/org/results/details", **params).text
    assert body.startswith('<UserResults xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><UserResult><Id>')
    tags = [t.split(">")[0] for t in body.split("<")[3:] if not t.startswith("/")]
    names = [t.split(" ")[0].rstrip("/") for t in tags]
    assert names[:21] == [
        "Id", "UserId", "OriginalUserId", "OriginalCourseId", "Name", "Active", "CreatedDate", "UpdatedDate",
        "StartedDate", "Completed", "PercentageComplete", "CompletedDate", "UpToDate", "Overdue",
        "CompliantTillDate", "DueDate", "LastAttemptDate", "CreatedBy", "UpdatedDate", "Code", "Username"]
    uc = get(sim, "/org/users/courses", **params).text
    assert "<UserCourse><UserId>" in uc and "</UserId><ID>" in uc
    mr = get(sim, "/org/modules/results", **params).text
    assert "<OrginalModuleId>" in mr and "<TimeTaken>" in mr


def test_value_forms_xml_and_json(sim):
    users_xml = get(sim, "/org/users/details", since="2026-01-08 00:00:00", to="2026-01-15 00:00:00",
                    limit=1000).text
    assert '<Skype/>' in users_xml and 'i:nil="true"' in users_xml  # empty strings vs nil dates
    assert "Z</CreatedDate>" in users_xml and "<Department>" in users_xml  # Z on users; schema drift
    assert "&amp;" in users_xml
    users_json = json.loads(get(sim, "/org/users/details", since="2026-01-08 00:00:00", to="2026-01-15 00:00:00",
                                format="json").text)
    assert isinstance(users_json, list) and users_json[0]["Skype"] == ""
    assert users_json[0]["CreatedDate"].endswith("Z")
    results_json = get(sim, "/org/results/details", since="2026-01-08 00:00:00", to="2026-01-15 00:00:00",
                       format="json").text
    assert '"UpdatedDate":"\\/Date(' in results_json or '"UpdatedDate":"/Date(' in results_json
    offsets = {d.split(")")[0][-5:] for d in results_json.split("/Date(")[1:]}
    assert len(offsets) > 1  # the WCF offset varies, the instant does not
    accept = get(sim, "/org/teams", since="2026-01-08 00:00:00", to="2026-01-15 00:00:00")
    assert accept.headers["Content-Type"] == "application/xml; charset=utf-8"
    import requests

    r = requests.get(sim.base_url + "/org/teams", params={"source": "t", "since": "2025-12-01 00:00:00",
                                                           "to": "2025-12-08 00:00:00"},
                     headers={"apikey": sim.api_key, "Accept": "application/json"}, timeout=10)
    assert r.headers["Content-Type"] == "application/json; charset=utf-8" and r.text.startswith("[")


def test_ground_truth_types_and_keys(sim):
    truth = sim.ground_truth("/org/modules/results")
    assert sim.keys("/org/modules/results") == ("UserId", "Id", "AttemptNumber")
    assert {type(r["TimeTaken"]).__name__ for r in truth} == {"timedelta"}
    long = [r for r in truth if r["TimeTaken"].days >= 1]  # rare > 24 h values render d.HH:mm:ss
    assert long
    day = long[0]["UpdatedDate"].replace(hour=0, minute=0, second=0, microsecond=0)
    body = get(sim, "/org/modules/results", since=fmt(day), to=fmt(day.replace(hour=23, minute=59, second=59)),
               limit=1000).text
    days, rest = divmod(int(long[0]["TimeTaken"].total_seconds()), 86400)
    assert f"<TimeTaken>{days}.{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}</TimeTaken>" in body
    assert len({r["ModuleResultId"] for r in truth}) == len(truth)
    assert all(r["UpdatedDate"].tzinfo is not None for r in truth)
    assert sim.keys("/org/teams/courses") == ("TeamId", "Id", "IsInTeamLibrary")
    assert sim.keys("/org/users/courses") == ("UserId", "ID")
    assert sim.keys("/v1.svc/org/learningpaths/users") == ("LearningPathId", "Id")
    users = sim.ground_truth("/org/users/details")
    logins = sim.ground_truth("/org/users/logins")
    latest = {}
    for rec in logins:
        latest[rec["Id"]] = max(latest.get(rec["Id"], rec["LastLogin"]), rec["LastLogin"])
    assert all(u["LastLogin"] == latest.get(u["Id"]) for u in users)
    drift = [u for u in users if "Department" in u]
    assert 0 < len(drift) < len(users)
    with pytest.raises(ValueError, match="unknown endpoint '/org/nope'"):
        sim.ground_truth("/org/nope")
