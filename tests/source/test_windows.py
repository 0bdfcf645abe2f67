"""Window planning: day-aligned, <= 7 days, contiguous, last `to` in the future, cursor + lookback."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sources.litmos.client import LitmosClient
from sources.litmos.exceptions import LitmosConfigError
from sources.litmos.options import select_resources
from sources.litmos.session import BatchWork, SyncSession
from sources.litmos.windows import parse_user_date, plan_windows, run_end, start_for

UTC = timezone.utc
NOW = datetime(2025, 3, 10, 12, 30, 15, tzinfo=UTC)


def _days(windows):
    return [(w.since.strftime("%m-%d"), w.to.strftime("%m-%d")) for w in windows]


def test_windows_are_day_aligned_contiguous_and_at_most_7_days():
    windows = plan_windows(datetime(2025, 1, 1, 17, 5, tzinfo=UTC), run_end(NOW, None))
    assert windows[0].since == datetime(2025, 1, 1, tzinfo=UTC)
    assert windows[-1].to == datetime(2025, 3, 11, tzinfo=UTC)  # tomorrow 00:00, in the future
    assert all(w.to - w.since <= timedelta(days=7) for w in windows)
    assert all(w.since.time() == w.to.time() == datetime.min.time() for w in windows)
    assert all(a.to == b.since for a, b in zip(windows, windows[1:]))
    assert len(windows) == 10
    assert windows[-1].params() == {"since": "2025-03-05 00:00:00", "to": "2025-03-11 00:00:00"}


def test_nightly_run_rereads_only_the_lookback():
    start = start_for(NOW, datetime(2024, 1, 1, tzinfo=UTC), lookback_days=1)
    assert _days(plan_windows(start, run_end(NOW, None))) == [("03-09", "03-11")]
    start = start_for(NOW, datetime(2024, 1, 1, tzinfo=UTC), lookback_days=0)
    assert _days(plan_windows(start, run_end(NOW, None))) == [("03-10", "03-11")]


def test_end_date_is_inclusive_and_never_past_tomorrow():
    assert run_end(NOW, datetime(2025, 2, 1, tzinfo=UTC)) == datetime(2025, 2, 2, tzinfo=UTC)
    assert run_end(NOW, datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2025, 3, 11, tzinfo=UTC)
    assert plan_windows(datetime(2025, 4, 1, tzinfo=UTC), run_end(NOW, None)) == []


def test_window_plan_ignores_client_timezone(monkeypatch):
    import time
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        local_now = datetime(2025, 3, 10, 23, 30, tzinfo=timezone(timedelta(hours=9)))  # 14:30 UTC
        assert _days(plan_windows(start_for(local_now, NOW, 0), run_end(local_now, None))) == [("03-10", "03-11")]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("value,message", [
    ("2025-13-01", "bad start_date '2025-13-01': use a date like 2025-01-31 (YYYY-MM-DD, UTC)"),
    ("yesterday", "bad start_date 'yesterday': use a date like 2025-01-31 (YYYY-MM-DD, UTC)"),
])
def test_bad_dates(value, message):
    with pytest.raises(LitmosConfigError) as info:
        parse_user_date(value, "start_date")
    assert str(info.value) == message


def test_user_dates_are_utc():
    assert parse_user_date("2025-01-31", "x") == datetime(2025, 1, 31, tzinfo=UTC)
    assert parse_user_date("2025-01-31T09:00:00+09:00", "x") == datetime(2025, 1, 31, tzinfo=UTC)
    assert parse_user_date(None, "x") is None


def test_unknown_resource_message_and_module_details_brings_modules():
    with pytest.raises(LitmosConfigError) as info:
        select_resources(["users", "userz"])
    assert str(info.value).startswith("unknown resource 'userz'; choose from: users, user_logins, ")
    assert select_resources("module_details") == ["modules", "module_details"]
    assert select_resources("users, teams") == ["users", "teams"]


def _session(cursors, **kw):
    client = LitmosClient("http://127.0.0.1:9/v1.svc", "k", "s")
    return SyncSession(client, server_now=NOW, cursors=cursors, resources=["users", "teams", "achievements"],
                       **kw)


def test_session_plans_from_each_cursor_and_batches():
    session = _session({"users": datetime(2025, 3, 1, 6, tzinfo=UTC), "teams": None},
                       start_date=datetime(2025, 1, 1, tzinfo=UTC), windows_per_batch=2)
    try:
        assert _days(session.windows["users"]) == [("02-28", "03-07"), ("03-07", "03-11")]
        assert len(session.windows["teams"]) == 10
        assert session.batches_total == 5
        assert session.since["achievements"] == datetime(2025, 1, 1, tzinfo=UTC)
        assert session.cursor_after(session.windows["users"][0]) == datetime(2025, 3, 7, tzinfo=UTC)
        assert session.cursor_after(session.windows["users"][-1]) == NOW  # capped at the server's now
    finally:
        session.close()


def test_default_start_is_one_year_before_server_now_and_backfill_ignores_cursors():
    session = _session({"users": NOW})
    try:
        assert session.windows["teams"][0].since == datetime(2024, 3, 10, tzinfo=UTC)
        assert session.batches_total == 1
    finally:
        session.close()
    session = _session({"users": NOW}, start_date=datetime(2025, 1, 1, tzinfo=UTC),
                       end_date=datetime(2025, 1, 20, tzinfo=UTC))
    try:
        assert _days(session.windows["users"]) == [("01-01", "01-08"), ("01-08", "01-15"), ("01-15", "01-21")]
        assert session.backfill
    finally:
        session.close()
    with pytest.raises(LitmosConfigError, match=r"^bad end_date 2024-12-01: it is before the start date 2025-01-01$"):
        _session({}, start_date=datetime(2025, 1, 1, tzinfo=UTC), end_date=datetime(2024, 12, 1, tzinfo=UTC))


def test_windows_of_a_batch_fetched_ahead_wait_for_spare_budget_until_it_is_read():
    session = _session({"teams": None}, start_date=datetime(2025, 1, 1, tzinfo=UTC), windows_per_batch=2)
    try:
        first, ahead = session._priority("teams", 1), session._priority("teams", 2)  # batch 0 and batch 1
        assert (first(0), first(5)) == (1, 5)  # nothing known of teams: one page, then deeper chains first
        assert ahead(5) == 5 - 1_000_000
        session.items_for(BatchWork(1, session.batches_total))  # dlt starts reading batch 1 (no requests)
        assert ahead(5) == 5
        assert session._priority("teams", 4)(0) == 1 - 1_000_000  # batch 2 is now the one ahead
    finally:
        session.close()


def _plan(**kw):
    from sources.litmos.plan import plan_run

    kw.setdefault("windows_per_batch", 4)
    kw.setdefault("resources", ["users", "course_results", "teams"])
    return plan_run(server_now=NOW, cursors={},
                    start_date=datetime(2025, 1, 1, tzinfo=UTC), **kw)


def test_the_last_batch_holds_only_the_late_tables_the_others_end_in_the_batch_before():
    """A first sync knows no sizes: the first two tables of the endpoint table are late; the other's last
    windows are committed with the batch before, which loads while the late tables are still fetched."""
    plan = _plan()
    assert (plan.batches_total, plan.per_batch, len(plan.windows["users"])) == (3, 4, 10)
    assert plan.late == ["users", "course_results"]
    assert plan.batch_of["users"] == plan.batch_of["course_results"] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert plan.batch_of["teams"] == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert plan.positions("teams", 1) == [4, 5, 6, 7, 8, 9] and plan.positions("teams", 2) == []
    assert plan.extras_batch == 1


def test_late_tables_are_those_with_the_most_expected_requests_a_third_and_at_least_two():
    # 500 course results a day at 1,000 a page: 4 pages in a week, 3 in the 5.5 days before NOW (at 98/min the
    # chains are short enough to keep 7-day windows).
    plan = _plan(rows_per_day={"course_results": 500.0, "teams": 150.0}, rate=98 / 60)
    assert [sum(plan.expected_pages[t][p] for p in (8, 9)) for t in plan.resources] == [2, 7, 3]
    assert plan.late == ["course_results", "teams"]
    assert plan.batch_of["users"][-2:] == [1, 1] and plan.batch_of["teams"][-2:] == [2, 2]
    both = _plan(resources=["users", "teams"])  # two tables: both end the run, as without late tables
    assert both.late is None and both.batch_of["users"] == both.batch_of["teams"] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]


def test_one_batch_and_the_history_walk_keep_every_table_in_every_batch():
    assert _plan(windows_per_batch=None).late is None
    from sources.litmos.plan import plan_run

    walk = plan_run(server_now=NOW, cursors={}, resources=["users", "course_results", "teams"], windows_per_batch=4,
                    history={t: (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 11, tzinfo=UTC))
                             for t in ("users", "course_results", "teams")})
    assert walk.late is None and walk.extras_batch == walk.batches_total - 1 == 2
    assert walk.batch_of["users"] == walk.batch_of["teams"] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]


def test_a_batch_submits_the_positions_its_plan_gives_each_table():
    session = SyncSession(LitmosClient("http://127.0.0.1:9/v1.svc", "k", "s"), server_now=NOW, cursors={},
                          resources=["users", "course_results", "teams", "achievements"],
                          start_date=datetime(2025, 1, 1, tzinfo=UTC), windows_per_batch=4)
    try:
        assert session.plan.late == ["users", "course_results"]
        work = session.submit(1)
        assert work.delta == {"users": [4, 5, 6, 7], "course_results": [4, 5, 6, 7], "teams": [4, 5, 6, 7, 8, 9]}
        assert set(work.since) == {"achievements"}  # the since feed joins the batch before the last
        last = session.submit(2)
        assert last.delta == {"users": [8, 9], "course_results": [8, 9]} and not last.since
    finally:
        session.close(cancel=True)
