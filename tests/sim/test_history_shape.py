"""Shape of the generated history over time: the last day before now looks like any other recent day.

A learner's future (start within 10 days of the assignment, completion within 20 days of the start) is
drawn independently of now and censored at now. Clipping the delays at now instead crams the whole
future of every recent assignment into the hours before now (about 20-35% of all course results,
module results and achievements then carry an UpdatedDate of the last 24 hours). The same holds for
a grown 10-year org, whose intake of users and assignments is densest near now.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

from litmos_sim.org import CR, MS_PER_DAY, Org
from litmos_sim.timefmt import to_ms

CASES = [
    (5, datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc), 30),
    (1, datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc), 30),
    (1, datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc), 3650),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda case: f"seed{case[0]}-{case[2]}d")
def org(request) -> Org:
    seed, now, days = request.param
    return Org(seed, 2000, to_ms(now), days)


def _days_before_now(org: Org, table: str) -> Counter:
    t = org.t(table)
    now = org.now_ms
    return Counter((now - ts) // MS_PER_DAY for ts in map(t.ts_of, t.rows) if ts is not None)


@pytest.mark.parametrize("table", ["course_results", "module_results", "org_achievements"])
def test_last_24_hours_look_like_a_recent_day(org, table):
    days = _days_before_now(org, table)
    recent_mean = sum(days[d] for d in range(1, 8)) / 7
    assert recent_mean > 20, f"{table}: too few rows in days 1-7 to judge the shape ({dict(days)})"
    assert days[0] <= 2 * recent_mean, (
        f"{table}: {days[0]} of {sum(days.values())} rows updated in the last 24 h, a day of the week "
        f"before holds {recent_mean:.0f} on average")


def test_progress_delays_are_bounded_and_nothing_is_after_now(org):
    rows = org.t("course_results").rows
    started = [r for r in rows if r[CR.StartedDate] is not None]
    done = [r for r in rows if r[CR.Completed]]
    assert started and done and len(started) < len(rows)
    assert all(0 <= r[CR.StartedDate] - r[CR.CreatedDate] <= 10 * MS_PER_DAY for r in started)
    assert all(0 <= r[CR.CompletedDate] - r[CR.StartedDate] <= 20 * MS_PER_DAY for r in done)
    # Censored, not clipped: some results assigned in the last days have started, but not all of them.
    fresh = [r for r in rows if org.now_ms - r[CR.CreatedDate] < 2 * MS_PER_DAY]
    fresh_started = [r for r in fresh if r[CR.StartedDate] is not None]
    assert fresh and 0 < len(fresh_started) < len(fresh) / 2
    for name in ("course_results", "module_results", "org_achievements", "lp_results", "lp_users", "users"):
        t = org.t(name)
        assert max(ts for ts in map(t.ts_of, t.rows) if ts is not None) <= org.now_ms, name
