"""The sync core with a scripted API: shared rate budget across resources, progress events."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from .fake_api import EMPTY, fake_api
from pipelines.sync import sync
from sources.litmos.events import BatchCommitted, PageFetched, WindowDone, WindowStarted

UTC = timezone.utc
TEAMS = (b"<Teams><Team><Id>t1</Id><UpdatedDate>2025-03-10T01:00:00</UpdatedDate></Team>"
         b"<Team><Id>t2</Id><UpdatedDate>2025-03-10T02:00:00</UpdatedDate></Team></Teams>")


def test_all_resources_share_one_rate_budget(tmp_path):
    stamps = []
    lock = threading.Lock()

    def handler(path, q, h):
        with lock:
            stamps.append(time.monotonic())
        return 200, EMPTY, None

    with fake_api(handler) as api:
        result = sync(credentials=str(tmp_path / "w.duckdb"), api_key="k" * 20, base_url=api.base_url,
                      requests_per_minute=600, state_dir=str(tmp_path / "state"), start_date="2025-03-09")
    n = len(stamps)
    assert n == result.requests_total == 1 + 17 + 2  # probe, one window per /org endpoint, 2 lists
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


def test_page_buffer_combines_pages_up_to_max_rows_and_unifies_extra_columns():
    import pyarrow as pa

    from sources.litmos.session import _PageBuffer

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
