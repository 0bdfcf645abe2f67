"""A first sync with the defaults holds the whole org, however old; old one-year warehouses get completed;
--resync replaces a table atomically; bad dates are refused before any data request.

Every test compares the warehouse with the simulator's ground truth (all time) and checks the request
log: the windows asked for cover the history without a gap, each <= 7 days and day-aligned, and an
empty window costs exactly one request.
"""
from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import dlt
import duckdb
import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import build_marts
from pipelines.sync import read_cursors, sync
from sources.litmos.exceptions import LitmosConfigError
from sources.litmos.settings import ENDPOINTS
from tests.dbt.compliance_oracle import compute
from .truth import diff_all

UTC = timezone.utc
NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DELTA_PATHS = {e.path: t for t, e in ENDPOINTS.items() if e.kind == "delta"}
FMT = "%Y-%m-%d %H:%M:%S"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__BACKOFF_BASE", "0.02")


def _cfg(history_days: int, seed: int = 21, scale: int = 200) -> SimConfig:
    return SimConfig(seed=seed, scale=scale, api_key="hist-key", history_days=history_days, now=NOW)


def _load(sim, credentials, tmp_path, destination="duckdb", **kw):
    args = dict(destination=destination, credentials=credentials, api_key=sim.api_key, base_url=sim.base_url,
                requests_per_minute=0, state_dir=str(tmp_path / "state"))
    args.update(kw)
    return sync(**args)


def _diff(sim, destination, credentials):
    if destination == "duckdb":
        conn = duckdb.connect(credentials, read_only=True)
    else:
        import psycopg2

        conn = psycopg2.connect(credentials)
    try:
        return diff_all(sim, conn)
    finally:
        conn.close()


def _windows(records):
    """Per delta table, the (since, to) windows asked for, with the number of requests of each."""
    asked: dict[str, dict[tuple[datetime, datetime], list[int]]] = defaultdict(lambda: defaultdict(list))
    for rec in records[1:]:  # [0] is the clock probe
        table = DELTA_PATHS.get(rec.path)
        if table is None or rec.status != 200:
            continue
        since = datetime.strptime(rec.params["since"], FMT).replace(tzinfo=UTC)
        to = datetime.strptime(rec.params["to"], FMT).replace(tzinfo=UTC)
        asked[table][(since, to)].append(int(rec.params["start"]))
    return asked


def _assert_covers(asked, lowest: datetime, top: datetime):
    """Every delta table's windows are day-aligned, <= 7 days, and cover [lowest, top] without a gap."""
    for table in DELTA_PATHS.values():
        windows = sorted(asked[table])
        assert windows, table
        for since, to in windows:
            assert since.time() == to.time() == datetime.min.time(), (table, since, to)
            assert timedelta(0) < to - since <= timedelta(days=7), (table, since, to)
        assert windows[0][0] <= lowest, (table, windows[0][0], lowest)
        assert windows[-1][1] >= top, (table, windows[-1][1], top)
        for (_, to), (since, _) in zip(windows, windows[1:]):
            assert since <= to, f"{table}: gap between {to} and {since}"


def _assert_empty_windows_cost_one_request(sim, asked):
    """A window that holds no row was asked once (start=0), never paged again."""
    for table, windows in asked.items():
        truth_dates = _cursor_values(sim, table)
        for (since, to), starts in windows.items():
            holds = any(since <= d < to for d in truth_dates)
            if not holds:
                assert starts == [0], (table, since, to, starts)


def _cursor_values(sim, table):
    endpoint = ENDPOINTS[table]
    element = {"updated_date": "UpdatedDate", "last_login": "LastLogin"}[endpoint.cursor]
    return [r[element] for r in sim.ground_truth(endpoint.path) if r.get(element)]


def _oldest_change(sim) -> datetime:
    return min(min(_cursor_values(sim, t)) for t in DELTA_PATHS.values() if _cursor_values(sim, t))


def _forget_history_marks(tmp_path):
    """Turns the state into what the old one-year default left: cursors, no lower edge, no choice."""
    pipeline = dlt.attach(pipeline_name="litmos", pipelines_dir=str(tmp_path / "state"))
    with pipeline.managed_state(extract_state=True) as state:
        source = state["sources"]["litmos"]
        source.pop("covered_from", None)
        source.pop("history_start", None)


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_warehouse_loaded_with_the_old_one_year_default_is_completed_without_rereading(
        tmp_path, destination, request):
    credentials = request.getfixturevalue("pg_database") if destination == "postgres" else str(tmp_path / "w.db")
    with run_simulator(_cfg(700, seed=23)) as sim:
        year_ago = (NOW - timedelta(days=365)).date().isoformat()
        _load(sim, credentials, tmp_path, destination, start_date=year_ago)
        assert _diff(sim, destination, credentials) != []  # a year is not the whole org
        _forget_history_marks(tmp_path)
        held = _oldest_held(destination, credentials)
        cursor = read_cursors(str(tmp_path / "state"))
        sim.advance(timedelta(days=1), activity=True)
        sim.clear_requests()
        result = _load(sim, credentials, tmp_path, destination)
        assert _diff(sim, destination, credentials) == []
        asked = _windows(sim.requests())
        for table, windows in asked.items():
            # The nightly windows from the cursor (minus the lookback day), then the walk back from the
            # oldest row held: nothing between those two is read again, save the oldest row's own day.
            nightly_from = cursor[table] - timedelta(days=2)
            reread = [w for w in windows if w[1] > held[table] + timedelta(days=1) and w[0] < nightly_from]
            assert reread == [], (table, reread)
            assert [w for w in windows if w[1] <= min(held[table], nightly_from)], f"{table}: no walk back"
        assert result.history_requests > 0
        if destination == "postgres":  # the marts over an old org on Postgres: test_history_old_orgs_postgres.py
            return
        as_of = sim.now().date()
        built = build_marts(destination, credentials, vars={"as_of_date": as_of.isoformat()}, quiet=True)
        assert {n.status for n in built.nodes} <= {"success", "pass"}
        assert _compliance(destination, credentials) == compute(sim, as_of).compliance


def _compliance(destination, credentials):
    if destination == "duckdb":
        conn = duckdb.connect(credentials, read_only=True)
    else:
        import psycopg2

        conn = psycopg2.connect(credentials)
    try:
        cur = conn.cursor()
        cur.execute("select user_id, course_id, compliance_status from litmos_marts.fct_compliance")
        return {(u, c): s for u, c, s in cur.fetchall()}
    finally:
        conn.close()


def _oldest_held(destination, credentials):
    """Per delta table, the day of its oldest cursor value in the warehouse."""
    if destination == "duckdb":
        conn = duckdb.connect(credentials, read_only=True)
    else:
        import psycopg2

        conn = psycopg2.connect(credentials)
    try:
        cur = conn.cursor()
        out = {}
        for table in DELTA_PATHS.values():
            cur.execute(f"select min({ENDPOINTS[table].cursor}) from litmos_raw.{table}")
            value = cur.fetchone()[0]
            if value is None:  # an empty table holds nothing to protect from re-reading
                out[table] = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
                continue
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            out[table] = value.replace(hour=0, minute=0, second=0, microsecond=0)
        return out
    finally:
        conn.close()


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_start_date_later_than_the_history_is_a_remembered_choice_that_says_what_it_leaves_out(
        tmp_path, destination, request):
    credentials = request.getfixturevalue("pg_database") if destination == "postgres" else str(tmp_path / "w.db")
    with run_simulator(_cfg(300, seed=24)) as sim:
        result = _load(sim, credentials, tmp_path, destination, start_date="2025-12-20")
        assert len(result.notes) == 1
        assert result.notes[0].startswith("partial history: --start-date 2025-12-20 leaves out every row last "
                                          "changed before it (the org has records created since ")
        assert result.notes[0].endswith("`litmos-sync run --history-start auto` loads the rest")
        assert result.history_requests == 0
        sim.advance(timedelta(days=1), activity=True)
        again = _load(sim, credentials, tmp_path, destination)  # the nightly keeps the choice
        assert again.history_requests == 0 and again.notes == []
        completed = _load(sim, credentials, tmp_path, destination, history_start="auto")
        assert completed.history_requests > 0
        assert _diff(sim, destination, credentials) == []


def test_an_explicit_history_start_is_walked_to_exactly(tmp_path):
    with run_simulator(_cfg(200, seed=25)) as sim:
        db = str(tmp_path / "w.duckdb")
        _load(sim, db, tmp_path, history_start="2025-03-03")
        asked = _windows(sim.requests())
        lowest = min(since for windows in asked.values() for since, _ in windows)
        assert lowest == datetime(2025, 3, 3, tzinfo=UTC)
        _assert_covers(asked, datetime(2025, 3, 3, tzinfo=UTC), NOW)


@pytest.mark.parametrize("when", ["start_date", "end_date", "history_start"])
def test_a_future_date_is_refused_before_any_data_request_and_moves_no_cursor(tmp_path, when):
    with run_simulator(_cfg(60, seed=26)) as sim:
        db = str(tmp_path / "w.duckdb")
        kw = {"start_date": "2025-12-01", "end_date": "2026-02-01"} if when == "end_date" else {when: "2026-02-01"}
        with pytest.raises(LitmosConfigError) as caught:
            _load(sim, db, tmp_path, **kw)
        name = {"start_date": "--start-date", "end_date": "--end-date", "history_start": "history_start"}[when]
        assert str(caught.value) == (f"bad {name} 2026-02-01: it is after the server's today (2026-01-15); "
                                     "use a past date")
        assert [r.path for r in sim.requests()] == ["/org/teams"]  # the clock probe only
        assert all(c is None for c in read_cursors(str(tmp_path / "state")).values())


def test_a_history_start_after_the_start_date_is_refused(tmp_path):
    with run_simulator(_cfg(60, seed=26)) as sim:
        with pytest.raises(LitmosConfigError) as caught:
            _load(sim, str(tmp_path / "w.duckdb"), tmp_path, start_date="2025-12-01", history_start="2025-12-05")
        assert str(caught.value) == ("bad history_start 2025-12-05: it is after the start date 2025-12-01; "
                                     "the history starts at or before it")


def test_achievements_after_a_refused_future_start_date_are_all_loaded(tmp_path):
    """Once a future --start-date moved the achievements cursor to now; a later backfill then missed them."""
    with run_simulator(_cfg(120, seed=27)) as sim:
        db = str(tmp_path / "w.duckdb")
        with pytest.raises(LitmosConfigError):
            _load(sim, db, tmp_path, start_date="2026-03-01")
        _load(sim, db, tmp_path)
        assert _diff(sim, "duckdb", db) == []


def test_a_cursor_ahead_of_the_server_is_refused_and_resync_repairs_it(tmp_path):
    with run_simulator(_cfg(60, seed=28)) as sim:
        db = str(tmp_path / "w.duckdb")
        _load(sim, db, tmp_path)
        pipeline = dlt.attach(pipeline_name="litmos", pipelines_dir=str(tmp_path / "state"))
        with pipeline.managed_state(extract_state=True) as state:
            state["sources"]["litmos"]["cursors"]["teams"] = "2028-02-20T00:00:00+00:00"
        with pytest.raises(LitmosConfigError) as caught:
            _load(sim, db, tmp_path)
        assert str(caught.value) == (
            "the stored cursor of teams (2028-02-20) is after the server's now (2026-01-15): a run with a wrong "
            "clock wrote it; rerun with `--resync teams` to read those tables again (docs/troubleshooting.md)")
        sim.advance(timedelta(days=1), activity=True)
        _load(sim, db, tmp_path, resync="teams")
        assert read_cursors(str(tmp_path / "state"))["teams"] == sim.now()
        assert _diff(sim, "duckdb", db) == []
