"""The sync core with a scripted API: shared rate budget across resources, progress events."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from .fake_api import EMPTY, fake_api
from .fake_clock import FakeClock, every_limiter_on
from pipelines.sync import sync
from sources.litmos.events import BatchCommitted, PageFetched, WindowDone, WindowStarted

UTC = timezone.utc
TEAMS = (b"<Teams><Team><Id>t1</Id><UpdatedDate>2025-03-10T01:00:00</UpdatedDate></Team>"
         b"<Team><Id>t2</Id><UpdatedDate>2025-03-10T02:00:00</UpdatedDate></Team></Teams>")


def test_all_resources_share_one_rate_budget(tmp_path, monkeypatch):
    requests = []
    lock = threading.Lock()
    stamps = every_limiter_on(FakeClock(), monkeypatch)  # the budget's seconds, granted token by token

    def handler(path, q, h):
        with lock:
            requests.append(path)
        return 200, EMPTY, None

    with fake_api(handler) as api:
        result = sync(credentials=str(tmp_path / "w.duckdb"), api_key="k" * 20, base_url=api.base_url,
                      requests_per_minute=600, state_dir=str(tmp_path / "state"), start_date="2025-03-09")
    n = len(requests)
    assert n == len(stamps) == result.requests_total == 1 + 17 + 2  # probe, a window per /org endpoint, 2 lists
    stamps.sort()
    # 600/min = 10/s with a burst of 3: n requests need at least (n - 3) / 10 seconds ...
    assert stamps[-1] - stamps[0] >= (n - 3) / 10 - 0.05
    # ... and no second ever holds more than 10 + 3.
    assert max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps) <= 13
    assert result.rate_wait_seconds > 0


def test_progress_events_are_delivered_one_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__WINDOWS_PER_BATCH", "1")
    events = []
    inside = {"now": 0, "max": 0}

    def on_event(event):
        inside["now"] += 1
        inside["max"] = max(inside["max"], inside["now"])
        time.sleep(0.001)
        events.append(event)
        inside["now"] -= 1

    def handler(path, q, h):
        if path == "/org/teams" and q["since"] == "2025-03-04 00:00:00":
            return 200, TEAMS, None
        return 200, EMPTY, None

    with fake_api(handler) as api:
        result = sync(credentials=str(tmp_path / "w.duckdb"), api_key="k" * 20, base_url=api.base_url,
                      requests_per_minute=0, state_dir=str(tmp_path / "state"), start_date="2025-02-25",
                      resources=["teams", "users"], on_event=on_event)
    assert inside["max"] == 1
    teams_started = [e for e in events if isinstance(e, WindowStarted) and e.resource == "teams"]
    assert sorted((e.index, e.total) for e in teams_started) == [(0, 2), (1, 2)]
    done = [e for e in events if isinstance(e, WindowDone) and e.resource == "teams"]
    # Windows run concurrently, so their events may arrive in any order.
    assert sorted((e.since, e.to, e.rows) for e in done) == [
        (datetime(2025, 2, 25, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC), 0),
        (datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 3, 11, tzinfo=UTC), 2)]
    assert sum(e.rows for e in events if isinstance(e, PageFetched) and e.resource == "teams") == 2
    batches = [e for e in events if isinstance(e, BatchCommitted)]
    assert [(b.index, b.total) for b in batches] == [(0, 2), (1, 2)]
    assert batches[0].cursors["teams"] == datetime(2025, 3, 4, tzinfo=UTC)
    assert batches[1].cursors["teams"] == datetime(2025, 3, 10, 12, 30, tzinfo=UTC)  # the server's Date
    assert result.resources["teams"].rows == 2 and result.resources["teams"].windows_done == 2


def test_cursors_survive_a_lost_state_dir(tmp_path):
    import shutil

    with fake_api(lambda p, q, h: (200, TEAMS if q.get("since") == "2025-03-04 00:00:00" else EMPTY, None)) as api:
        args = dict(credentials=str(tmp_path / "w.duckdb"), api_key="k" * 20, base_url=api.base_url,
                    requests_per_minute=0, state_dir=str(tmp_path / "state"), start_date="2025-02-25",
                    resources=["teams"])
        sync(**args)
        shutil.rmtree(tmp_path / "state")
        api.requests.clear()
        again = sync(**args)
    # Restored from the warehouse (dlt keeps the state there too): only the lookback is re-read.
    assert [r.params["since"] for r in api.requests[1:]] == ["2025-03-09 00:00:00"]
    assert again.resources["teams"].cursor_before == datetime(2025, 3, 10, 12, 30, tzinfo=UTC)


def test_read_cursors_without_a_pipeline_is_empty_and_creates_nothing(tmp_path):
    from pipelines.sync import read_cursors

    cursors = read_cursors(str(tmp_path / "nothing-here"))
    assert set(cursors.values()) == {None} and "course_results" in cursors
    assert not (tmp_path / "nothing-here").exists()


def test_read_cursors_leaves_a_starting_run_s_working_dir_alone(tmp_path):
    """A run's working dir exists before its state file does (dlt creates the dir, then the pipeline). A reader
    then (`litmos-sync status`, the parallel kill test polling the cursors) must not take it for a broken pipeline:
    dlt.attach falls back to creating the pipeline there, which wipes the directory under the running sync (its
    next state save fails: the intermittent exit 1 of a parallel run, issue 15)."""
    from pipelines.sync import read_cursors

    working = tmp_path / "state" / "litmos__acme"
    (working / "load" / "new").mkdir(parents=True)
    (working / "load" / "new" / "package").write_text("being extracted")
    cursors = read_cursors(str(tmp_path / "state"), "litmos__acme")
    assert set(cursors.values()) == {None}
    assert (working / "load" / "new" / "package").read_text() == "being extracted"
    assert sorted(p.name for p in working.iterdir()) == ["load"]


def test_page_buffer_combines_pages_up_to_max_rows_and_unifies_extra_columns():
    import pyarrow as pa

    from sources.litmos.resources import _PageBuffer

    def page(first: int, n: int, extra: bool = False) -> pa.Table:
        cols = {"id": [str(i) for i in range(first, first + n)]}
        if extra:
            cols["course_version"] = ["1"] * n
        return pa.table(cols)

    buffer = _PageBuffer(1000)
    assert list(buffer.add(page(0, 400))) == []
    assert list(buffer.add(page(400, 400, extra=True))) == []
    out = list(buffer.add(page(800, 300)))  # 1100 rows would pass 1000: the first 800 go first
    assert [t.num_rows for t in out] == [800]
    assert out[0].column("id").to_pylist() == [str(i) for i in range(800)]
    assert out[0].column("course_version").to_pylist() == [None] * 400 + ["1"] * 400
    assert [t.num_rows for t in buffer.add(page(1100, 700))] == [1000]  # exactly full: handed on at once
    assert list(buffer.flush()) == []
    assert [t.num_rows for t in buffer.add(page(0, 1500))] == [1500]  # a bigger page goes alone
    assert list(buffer.flush()) == []


def test_long_page_chains_get_one_day_windows_after_the_first_run(tmp_path):
    """A resource whose window is several pages long (known from the rows per day it read last time)
    gets one-day windows when, as here without a rate budget, its chain would set the run's pace."""
    from datetime import timedelta

    parse = lambda text: datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)  # noqa: E731

    def handler(path, q, h):
        if path != "/org/teams":
            return 200, EMPTY, None
        since, to = parse(q["since"]), min(parse(q["to"]), api.now)
        minutes = int((to - since).total_seconds() // 60)  # one team updated every minute: 1440 a day
        start, limit = int(q["start"]), int(q["limit"])
        stamps = [since + timedelta(minutes=m) for m in range(start, min(minutes, start + limit))]
        teams = "".join(f"<Team><Id>t{t:%m%d%H%M}</Id><UpdatedDate>{t:%Y-%m-%dT%H:%M:%S}</UpdatedDate></Team>"
                        for t in stamps)
        return 200, f"<Teams>{teams}</Teams>".encode(), None

    def windows(path):
        return sorted({(r.params["since"][:10], r.params["to"][:10]) for r in api.requests[1:] if r.path == path})

    with fake_api(handler) as api:
        args = dict(credentials=str(tmp_path / "w.duckdb"), api_key="k" * 20, base_url=api.base_url,
                    requests_per_minute=0, state_dir=str(tmp_path / "state"), start_date="2025-03-01",
                    resources=["teams", "users"])
        sync(**args)  # first run: nothing known, 7-day windows for both
        assert windows("/org/teams") == windows("/org/users/details") == [("2025-03-01", "2025-03-08"),
                                                                            ("2025-03-08", "2025-03-11")]
        api.now += timedelta(days=1)
        api.requests.clear()
        second = sync(**args)
    assert windows("/org/teams") == [("2025-03-09", "2025-03-10"), ("2025-03-10", "2025-03-11"),
                                     ("2025-03-11", "2025-03-12")]
    assert windows("/org/users/details") == [("2025-03-09", "2025-03-12")]  # one page: nothing to gain
    assert second.resources["teams"].rows == 1440 + 1440 + 750  # 03-09, 03-10 and 03-11 up to 12:30
    assert second.resources["teams"].requests == 2 + 2 + 1  # 1440 rows: a full page and a short one
    import dlt

    state = dlt.attach(pipeline_name="litmos", pipelines_dir=str(tmp_path / "state")).state["sources"]["litmos"]
    # the second run's batch: 3630 rows over 2.52 days (03-09 00:00 to the server's now, 03-11 12:30)
    assert state["rows_per_day"] == {"teams": 1440.0, "users": 0.0}


def _planned(rows_per_day, requests_per_minute, family_requests=None, resources=("course_results", "users")):
    """Windows SyncSession plans for a nightly run (cursor = yesterday 02:00, 1-day lookback)."""
    from sources.litmos.budget import RateLimiter
    from sources.litmos.client import LitmosClient
    from sources.litmos.session import SyncSession

    now = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    client = LitmosClient("http://127.0.0.1:9/v1.svc", "k", "t", limiter=RateLimiter(requests_per_minute))
    session = SyncSession(client, server_now=now, cursors={t: datetime(2025, 3, 9, 2, 0, tzinfo=UTC)
                                                           for t in resources},
                          resources=list(resources), rows_per_day=rows_per_day, family_requests=family_requests)
    try:
        return {t: [(w.since.day, w.to.day) for w in ws] for t, ws in session.windows.items()}
    finally:
        session.close()


def test_longest_expected_chains_are_served_first():
    """Requests are ordered by their window's expected pages (then by pages read), so the one-day
    windows of a split chain start at once instead of waiting behind every chain already running."""
    from sources.litmos.budget import RateLimiter
    from sources.litmos.client import LitmosClient
    from sources.litmos.session import SyncSession

    now = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    client = LitmosClient("http://127.0.0.1:9/v1.svc", "k", "t", limiter=RateLimiter(98))
    session = SyncSession(client, server_now=now, cursors={t: datetime(2025, 3, 9, 2, 0, tzinfo=UTC) for t in
                                                           ("course_results", "users", "achievements")},
                          resources=["course_results", "users", "achievements"],
                          rows_per_day={"course_results": 12000.0, "users": 10.0, "achievements": 2400.0})
    try:
        # one-day windows 03-08, 03-09 (12,000 rows: 13 pages each) and 03-10 until 02:00 (1,000 rows: 2)
        assert session.expected_pages["course_results"] == [13, 13, 2]
        assert [session._priority("course_results", i)(0) for i in range(3)] == [13, 13, 2]
        assert session._priority("course_results", 2)(5) == 5  # longer than expected: pages read count
        assert session._priority("users", 0)(0) == 1
        # since 03-08 00:00: 2.08 days at 2,400 a day = 5,000 rows: 5 full pages and an empty last one
        assert session.expected_pages["achievements"] == [6]
    finally:
        session.close()


def test_a_chain_longer_than_the_run_at_the_budget_is_split_and_a_shorter_one_is_not():
    # 12,000 course results a day: the 03-08..03-11 window (2.08 days) is about 26 pages, 68 s at 2 s a page
    # plus a token's wait (0.6 s at 98/min); with users (1 page) the run is 27 requests, 17 s at 98/min: the
    # chain would set the pace.
    dense = {"course_results": 12000.0, "users": 10.0}
    assert _planned(dense, 98) == {"course_results": [(8, 9), (9, 10), (10, 11)], "users": [(8, 11)]}
    assert _planned(dense, 0)["course_results"] == [(8, 9), (9, 10), (10, 11)]  # unlimited: always
    # The same chain inside a run of 27 + 120 collection-family requests (90 s at 98/min): the budget
    # sets the pace anyway, so no extra requests are spent on splitting.
    family = ("course_results", "users", "collections", "collection_listings", "collection_listing_users",
              "collection_listing_teams")
    assert _planned(dense, 98, family_requests=120, resources=family)["course_results"] == [(8, 11)]
    assert _planned(dense, 98, family_requests=60, resources=family)["course_results"] == [(8, 9), (9, 10),
                                                                                          (10, 11)]
    # Nothing known yet (first nightly after a backfill of another version): 7-day windows.
    assert _planned({}, 98) == {"course_results": [(8, 11)], "users": [(8, 11)]}
