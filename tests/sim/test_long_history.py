"""Orgs with long histories: they start small on their first day and grow, so early years are sparse.

A 10-year org (3650 days) and a 900-day one, both of 2000 users, built once per module. Build time is
measured by a benchmark, never asserted here; these tests assert the shape of the history, who made
the changes, determinism, and that the endpoints serve exactly the ground truth over all time.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from litmos_sim import SimConfig, Simulator, run_simulator
from litmos_sim.org import Org
from litmos_sim.timefmt import to_ms

from .conftest import NOW, ORG, fmt, parse_date

SCALE = 2000
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
YEAR = timedelta(days=365)
# Per-record "who" fields and the record date each one must not precede.
WHO_FIELDS = (("CreatedBy", "CreatedDate"), ("UpdatedBy", "UpdatedDate"))


def _config(days: int, seed: int = 1) -> SimConfig:
    return SimConfig(seed=seed, scale=SCALE, history_days=days, now=NOW, api_key="test-key")


class Truth:
    """A running simulator plus its ground truth, converted once per endpoint (120k login events)."""

    def __init__(self, sim: Simulator):
        self.sim, self._records = sim, {}

    def __call__(self, path: str) -> list[dict]:
        if path not in self._records:
            self._records[path] = self.sim.ground_truth(path)
        return self._records[path]

    @property
    def start(self) -> datetime:
        return NOW - timedelta(days=self.sim.config.history_days)


@pytest.fixture(scope="module", params=[3650, 900], ids=lambda days: f"{days}d")
def org(request) -> Truth:
    with run_simulator(_config(request.param)) as sim:
        yield Truth(sim)


TEN_YEARS = pytest.mark.parametrize("org", [3650], indirect=True, ids=["3650d"])


def _ts(path: str, record: dict) -> datetime | None:
    """The date a window selects the record by (README "Window rule")."""
    if path == "/org/users/logins":
        return record["LastLogin"]
    return record["UpdatedDate"] or record["CreatedDate"]


def _stamps(org: Truth) -> dict[str, list[datetime]]:
    return {path: [_ts(path, r) for r in org(path)] for path in ORG}


def _empty_share(stamps: list[datetime], first: datetime, weeks: int) -> float:
    """Share of the `weeks` consecutive 7-day windows from `first` that hold none of `stamps`."""
    held = {(ts - first) // WEEK for ts in stamps if first <= ts < first + weeks * WEEK}
    return 1 - len(held) / weeks


def _created(org: Truth, path: str, lo: datetime, hi: datetime) -> int:
    return sum(1 for r in org(path) if lo <= r["CreatedDate"] < hi)


def test_rows_exist_in_the_first_month_and_the_first_year(org):
    start = org.start
    stamps = _stamps(org)
    first_month = {p for p, ts in stamps.items() if any(start <= t < start + MONTH for t in ts)}
    first_year = {p for p, ts in stamps.items() if any(start <= t < start + YEAR for t in ts)}
    # The founding phase: the catalog and the first teams are set up, the first people log in.
    assert {"/org/courses", "/org/modules", "/org/courses/modules", "/org/teams",
            "/org/users/logins"} <= first_month
    assert {"/org/results/details", "/org/users/courses", "/org/modules/results", "/org/achievements",
            "/org/users/details", "/org/teams/users"} <= first_year
    assert min(min(ts) for ts in stamps.values() if ts) >= start


def test_the_account_owner_opens_the_org_on_its_first_instant(org):
    users = sorted(org("/org/users/details"), key=lambda u: u["CreatedDate"])
    owner = users[0]
    assert owner["CreatedDate"] == org.start
    assert owner["AccessLevel"] == "Administrator" and owner["Active"] is True
    assert owner["CreatedBy"] == owner["OriginalId"]
    assert len(users) == SCALE


def _window_shares(org: Truth) -> tuple[dict[str, float], dict[str, float]]:
    """Empty-window share of each endpoint in the first 52 weeks and in the last 52 weeks."""
    stamps = _stamps(org)
    early = {p: _empty_share(ts, org.start, 52) for p, ts in stamps.items()}
    late = {p: _empty_share(ts, NOW - 52 * WEEK, 52) for p, ts in stamps.items()}
    return early, late


@TEN_YEARS
def test_first_year_windows_of_ten_years_are_mostly_empty(org):
    early, late = _window_shares(org)
    assert sum(early.values()) / len(early) > 0.7, early
    assert sum(late.values()) / len(late) < 0.4, late
    # Most endpoints are empty in most first-year windows, but not all of them: administrators log in.
    assert sum(1 for share in early.values() if share > 0.5) >= 12, early
    assert early["/org/users/logins"] < 0.1 and 0 < early["/org/results/details"] < 1


def test_the_last_year_has_learner_activity_every_week_and_fewer_empty_windows_than_the_first(org):
    early, late = _window_shares(org)
    assert sum(early.values()) > sum(late.values())
    for path in ("/org/users/details", "/org/users/logins", "/org/results/details", "/org/users/courses",
                 "/org/modules/results", "/org/achievements", "/org/teams/users"):
        assert late[path] == 0, (path, late[path])


def test_users_teams_and_results_grow(org):
    start = org.start
    for path in ("/org/users/details", "/org/teams", "/org/results/details", "/org/users/courses"):
        first = _created(org, path, start, start + YEAR)
        last = _created(org, path, NOW - YEAR, NOW + timedelta(seconds=1))
        assert 0 < first < last, (path, first, last)


@TEN_YEARS
def test_the_catalog_grows_beyond_its_launch_over_ten_years(org):
    """A young org's first year holds its launch catalog; ten years on, a year adds more courses than that."""
    first = _created(org, "/org/courses", org.start, org.start + YEAR)
    last = _created(org, "/org/courses", NOW - YEAR, NOW + timedelta(seconds=1))
    assert 0 < first < last


def test_an_early_course_nobody_took_and_an_early_team_are_never_touched_again(org):
    start = org.start
    early = start + MONTH

    def untouched(path):
        return [r for r in org(path) if r["CreatedDate"] < early and r["UpdatedDate"] < early]

    courses = untouched("/org/courses")
    taken = {r["OriginalCourseId"] for path in ("/org/results/details", "/org/users/courses", "/org/learningpaths/courses",
                                  "/org/teams/courses") for r in org(path)}
    assert [c for c in courses if c["OriginalCourseId"] not in taken], "no course of the first month was left untaken"
    assert untouched("/org/teams") and untouched("/org/modules")


def test_early_users_who_left_without_logging_in_keep_their_old_results(org):
    start = org.start
    logged_in = {r["Id"] for r in org("/org/users/logins")}
    # Deactivation is the last change of a user record, so UpdatedDate is when they left.
    leavers = {u["Id"]: u for u in org("/org/users/details")
               if u["CreatedDate"] < start + MONTH and not u["Active"] and u["UpdatedDate"] < start + 3 * MONTH
               and u["Id"] not in logged_in}
    assert leavers and all(u["LastLogin"] is None for u in leavers.values())
    results = [r for r in org("/org/results/details") if r["UserId"] in leavers]
    # Only their own old deadlines (due dates, compliance expiry of at most a year) may still flip them.
    assert results and all(r["UpdatedDate"] < start + 3 * MONTH + YEAR for r in results)


def test_every_change_is_made_by_an_administrator_who_already_existed(org):
    admins = {u["OriginalId"]: u["CreatedDate"] for u in org("/org/users/details")
              if u["AccessLevel"] == "Administrator"}
    assert len(admins) == 3 + SCALE // 1000
    checked = 0
    for path in ORG:
        for record in org(path):
            for who, when in WHO_FIELDS:
                # LearningPathUser's UpdatedBy is 0 with its nil UpdatedDate, as in the docs' example.
                if record.get(who) in (None, 0) or record.get(when) is None:
                    continue
                assert record[who] in admins, (path, who, record[who])
                assert admins[record[who]] <= record[when], (path, who, record)
                checked += 1
    assert checked > 50_000


def test_record_keys_stay_unique_over_years_of_events(org):
    """Years of an administrator's logins snap to the same midnight now and then: still one event each."""
    for path in ORG:
        key = org.sim.keys(path)
        keys = [tuple(r[f] for f in key) for r in org(path)]
        assert len(set(keys)) == len(keys), path


def test_the_endpoints_serve_exactly_the_ground_truth_over_all_time(org):
    """Every 7-day window of the history, read page by page, gives back every record exactly once."""
    with requests.Session() as http:
        for path in ("/org/results/details", "/org/users/details", "/org/users/logins", "/org/teams",
                     "/org/learningpaths/users"):
            key = org.sim.keys(path)
            truth = {tuple(r[f] for f in key) for r in org(path)}
            served = _read_history(org.sim, http, path, key)
            assert len(served) == len(truth) and set(served) == truth, path


def _read_history(sim: Simulator, http: requests.Session, path: str, key: tuple[str, ...]) -> list[tuple]:
    """Keys of every record served by day-aligned 7-day windows over the whole history (JSON pages).

    A record stamped exactly on a shared window boundary (00:00:00) is in both windows; it counts once.
    """
    day = datetime(NOW.year, NOW.month, NOW.day, tzinfo=timezone.utc) + timedelta(days=1)
    since = day - timedelta(days=sim.config.history_days + 1)
    keys: list[tuple] = []
    while since < day:
        start = 0
        while True:
            r = http.get(sim.base_url + path, headers={"apikey": sim.api_key}, timeout=30,
                         params={"source": "tests", "format": "json", "since": fmt(since),
                                 "to": fmt(since + WEEK), "start": start, "limit": 1000})
            assert r.status_code == 200, r.text
            page = json.loads(r.text)
            keys += [tuple(parse_date(rec[f]) if f == "LastLogin" else rec[f] for f in key) for rec in page
                     if not _on_boundary(path, rec, since)]
            start += len(page)
            if len(page) < 1000:
                break
        since += WEEK
    return keys


def _on_boundary(path: str, record: dict, since: datetime) -> bool:
    """Whether the record sits on the window's opening boundary, so the previous window served it too.

    The first window opens a day before the org existed, so this never drops a record.
    """
    stamp = record["LastLogin"] if path == "/org/users/logins" else record["UpdatedDate"] or record["CreatedDate"]
    return parse_date(stamp) == since


def test_the_same_seed_builds_the_same_org_and_another_seed_another():
    def snapshot(seed):
        org = Org(seed, 300, to_ms(NOW), 900)
        return {name: table.rows for name, table in org.tables.items()}

    first = snapshot(3)
    assert snapshot(3) == first
    assert snapshot(4)["users"] != first["users"]
