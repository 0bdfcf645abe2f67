"""Window boundary rules, the day-granular switch, the simulated clock and the activity generator."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .conftest import NOW, fmt, get, xml_records, parse_date

TODAY = datetime(2026, 1, 15, tzinfo=timezone.utc)


def keys_in(sim, path, item, since, to, **extra):
    r = get(sim, path, since=fmt(since), to=fmt(to), limit=1000, **extra)
    assert r.status_code == 200, r.text
    return xml_records(r.text, item)


def test_window_is_inclusive_at_both_ends(sim):
    truth = sim.ground_truth("/org/results/details")
    at_midnight = [t for t in truth if t["UpdatedDate"] == TODAY]
    assert at_midnight, "the generator pins rows exactly at today's 00:00:00"
    ids = {(t["UserId"], t["Id"]) for t in at_midnight}
    before = keys_in(sim, "/org/results/details", "UserResult", TODAY - timedelta(days=1), TODAY)
    after = keys_in(sim, "/org/results/details", "UserResult", TODAY, TODAY + timedelta(days=1))
    assert ids <= {(r["UserId"], r["Id"]) for r in before}
    assert ids <= {(r["UserId"], r["Id"]) for r in after}
    exact = keys_in(sim, "/org/results/details", "UserResult", TODAY, TODAY)
    assert {(r["UserId"], r["Id"]) for r in exact} == ids


def test_window_counts_match_ground_truth_under_both_readings(make_litmos_sim):
    for granular in (False, True):
        sim = make_litmos_sim(day_granular_to=granular)
        truth = sim.ground_truth("/org/users/courses")
        since, to = TODAY - timedelta(days=3), TODAY + timedelta(hours=6)
        hi = TODAY if granular else to
        expected = {(t["UserId"], t["ID"]) for t in truth
                    if since <= t["UpdatedDate"] and (t["UpdatedDate"] < hi if granular else t["UpdatedDate"] <= hi)}
        got = {(r["UserId"], r["ID"]) for r in keys_in(sim, "/org/users/courses", "UserCourse", since, to)}
        assert got == expected and got


def test_day_granular_to_needs_a_future_to_for_today(make_litmos_sim):
    sim = make_litmos_sim(day_granular_to=True)
    today_rows = [t for t in sim.ground_truth("/org/results/details") if t["UpdatedDate"] >= TODAY]
    assert today_rows
    until_now = keys_in(sim, "/org/results/details", "UserResult", TODAY, NOW)
    assert until_now == []
    tomorrow = keys_in(sim, "/org/results/details", "UserResult", TODAY, TODAY + timedelta(days=1))
    assert len(tomorrow) == len(today_rows)


def test_logins_window_by_event_and_lp_users_by_created_when_updated_is_nil(sim):
    logins = sim.ground_truth("/org/users/logins")
    since, to = TODAY - timedelta(days=2), TODAY
    expected = sorted((t["Id"], t["LastLogin"]) for t in logins if since <= t["LastLogin"] <= to)
    got = sorted((r["Id"], parse_date(r["LastLogin"])) for r in keys_in(sim, "/org/users/logins", "User", since, to))
    assert got == expected and got
    lpu = sim.ground_truth("/org/learningpaths/users")
    nil_updated = [t for t in lpu if t["UpdatedDate"] is None]
    assert nil_updated
    rec = nil_updated[0]
    day = rec["CreatedDate"].replace(hour=0, minute=0, second=0, microsecond=0)
    rows = keys_in(sim, "/org/learningpaths/users", "LearningPathUser", day, day + timedelta(days=1))
    assert (rec["LearningPathId"], rec["Id"]) in {(r["LearningPathId"], r["Id"]) for r in rows}


def test_all_history_is_in_the_past_and_covers_today(sim):
    for path in ("/org/results/details", "/org/users/details", "/org/modules/results", "/org/achievements"):
        truth = sim.ground_truth(path)
        assert max(t["UpdatedDate"] for t in truth) <= NOW
        assert min(t["UpdatedDate"] for t in truth) >= NOW - timedelta(days=60)
    assert any(t["UpdatedDate"] >= TODAY for t in sim.ground_truth("/org/results/details"))


def test_advance_generates_activity_visible_in_the_next_window(sim):
    before = {path: len(sim.ground_truth(path)) for path in ("/org/users/details", "/org/users/logins")}
    t0 = sim.now()
    events = sim.advance(timedelta(days=2))
    t1 = sim.now()
    assert t1 - t0 == timedelta(days=2)
    assert events["login"] > 0 and events["progress"] > 0 and events["new_user"] >= 1
    assert len(sim.ground_truth("/org/users/details")) > before["/org/users/details"]
    assert len(sim.ground_truth("/org/users/logins")) > before["/org/users/logins"]
    new_window = keys_in(sim, "/org/results/details", "UserResult", t0.replace(microsecond=0) + timedelta(seconds=1),
                         t1)
    assert new_window
    assert get(sim, "/org/teams", since=fmt(t0), to=fmt(t1)).headers["Date"] == "Sat, 17 Jan 2026 10:30:00 GMT"
    # Nothing is stamped after the clock; late rows are at most 12 hours before t0.
    for path in ("/org/results/details", "/org/users/details", "/org/users/courses", "/org/modules/results"):
        stamps = [t["UpdatedDate"] for t in sim.ground_truth(path)]
        assert max(stamps) <= t1


def test_late_rows_land_before_the_previous_now(make_litmos_sim):
    sim = make_litmos_sim(scale=2000)
    late = []
    seen = {(t["Id"], t["LastLogin"]) for t in sim.ground_truth("/org/users/logins")}
    for _ in range(12):
        t0 = sim.now()
        sim.advance(timedelta(hours=1))
        current = sim.ground_truth("/org/users/logins")
        new = [t for t in current if (t["Id"], t["LastLogin"]) not in seen]
        assert new and all(t["LastLogin"] <= sim.now() for t in new)
        late += [(t0, t) for t in new if t["LastLogin"] <= t0]
        seen |= {(t["Id"], t["LastLogin"]) for t in new}
    assert late, "some events are committed late, with a stamp before the previous now"
    assert all(t["LastLogin"] >= t0 - timedelta(hours=12) for t0, t in late)


def test_activity_is_deterministic(make_litmos_sim):
    a, b = make_litmos_sim(seed=5), make_litmos_sim(seed=5)
    for sim in (a, b):
        sim.advance(timedelta(days=1))
        sim.advance(timedelta(hours=3))
    for path in ("/org/results/details", "/org/users/logins", "/org/achievements"):
        assert a.ground_truth(path) == b.ground_truth(path)
    c = make_litmos_sim(seed=6)
    assert c.ground_truth("/org/users/details") != a.ground_truth("/org/users/details")


def test_freeze_and_reset(sim):
    when = datetime(2026, 2, 1, 12, 0, tzinfo=timezone.utc)
    users = len(sim.ground_truth("/org/users/details"))
    sim.freeze(when)
    assert sim.now() == when
    assert len(sim.ground_truth("/org/users/details")) == users  # freeze never generates activity
    assert get(sim, "/org/nothing").headers["Date"] == "Sun, 01 Feb 2026 12:00:00 GMT"
    get(sim, "/org/nothing")
    sim.reset(seed=2)
    assert sim.now() == NOW and sim.config.seed == 2 and sim.requests() == []


def test_real_clock_by_default():
    from litmos_sim import SimConfig, Simulator

    sim = Simulator(SimConfig(scale=20))
    real = datetime.now(timezone.utc)
    assert abs((sim.now() - real).total_seconds()) < 5
    sim.advance(timedelta(days=1), activity=False)
    assert abs((sim.now() - real - timedelta(days=1)).total_seconds()) < 5
