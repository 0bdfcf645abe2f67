"""End to end against the simulator: warehouse == ground truth, request-log properties, formats, TZ."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import duckdb
import psycopg2
import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines.sync import read_cursors, sync
from sources.litmos.settings import ENDPOINTS
from .truth import diff_all

UTC = timezone.utc
SIM_NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
KEY = "sim-K3y-never-to-be-seen"
START = "2025-12-01"  # 7 windows per delta resource: several batches with windows_per_batch=3


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__WINDOWS_PER_BATCH", "3")
    monkeypatch.setenv("SOURCES__LITMOS__BACKOFF_BASE", "0.02")


def _cfg(**kw) -> SimConfig:
    # history_days keeps every record after the run's start date, so the whole org is the truth.
    return SimConfig(seed=kw.pop("seed", 3), scale=200, api_key=KEY, history_days=kw.pop("history_days", 40),
                     now=SIM_NOW, **kw)


def _sync(sim, tmp_path, **kw):
    args = dict(credentials=str(tmp_path / "w.duckdb"), api_key=sim.api_key, base_url=sim.base_url,
                requests_per_minute=0, state_dir=str(tmp_path / "state"), start_date=START)
    args.update(kw)
    return sync(**args)


def _diff_duckdb(sim, tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return diff_all(sim, conn)
    finally:
        conn.close()


def _org_requests(records):
    """(path, since, to, params) of the windowed /org requests, without the clock probe (the first)."""
    out = []
    for rec in records[1:]:
        if rec.path.startswith("/org/") and rec.status == 200:
            since = datetime.strptime(rec.params["since"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            to = datetime.strptime(rec.params["to"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            out.append((rec.path, since, to, rec.params))
    return out


def _check_windows(records, first_since, now):
    """Every /org endpoint: day-aligned windows <= 7 days, contiguous from first_since, last `to` > now."""
    reqs = _org_requests(records)
    assert {p for p, *_ in reqs} == {e.path for e in ENDPOINTS.values() if e.kind == "delta"}
    for path in {p for p, *_ in reqs}:
        windows = sorted({(s, t) for p, s, t, _ in reqs if p == path})
        assert windows[0][0] == first_since, path
        for (s, t), nxt in zip(windows, windows[1:] + [None]):
            assert s.time() == t.time() == datetime.min.time() and timedelta(0) < t - s <= timedelta(days=7)
            if nxt:
                assert nxt[0] == t, f"{path}: gap/overlap between {t} and {nxt[0]}"
        assert windows[-1][1] > now, path
    assert {params["limit"] for *_, params in reqs} == {"1000"}
    for path, s, t, params in reqs:  # paging: start advances by what was received, from 0
        assert int(params["start"]) % 1000 == 0 or int(params["start"]) > 1000


def test_first_load_then_clock_advances_with_late_rows_and_removals_duckdb(tmp_path):
    with run_simulator(_cfg()) as sim:
        result = _sync(sim, tmp_path)
        assert _diff_duckdb(sim, tmp_path) == []
        _check_windows(sim.requests(), datetime(2025, 12, 1, tzinfo=UTC), sim.now())
        assert result.server_now == SIM_NOW
        assert result.resources["users"].windows_total == result.resources["users"].windows_done == 7
        assert result.resources["course_results"].cursor_after == SIM_NOW  # capped at server now
        assert result.resources["collections"].cursor_after is None
        assert read_cursors(str(tmp_path / "state"))["teams"] == SIM_NOW
        rows_first = result.rows_total
        assert rows_first > 1000

        # A second run right away re-reads only the lookback day and changes nothing.
        sim.clear_requests()
        again = _sync(sim, tmp_path)
        _check_windows(sim.requests(), datetime(2026, 1, 14, tzinfo=UTC), sim.now())
        assert all(len({(s, t) for p2, s, t, _ in _org_requests(sim.requests()) if p2 == p}) == 1
                   for p in {p for p, *_ in _org_requests(sim.requests())})
        assert _diff_duckdb(sim, tmp_path) == []
        assert again.rows_total < rows_first / 5

        # Days pass with activity (updates, late rows, deactivations): each run stays exact.
        for days in (1, 3):
            sim.advance(timedelta(days=days), activity=True)
            sim.clear_requests()
            _sync(sim, tmp_path)
            assert _diff_duckdb(sim, tmp_path) == []
            cursor_day = (sim.now() - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
            _check_windows(sim.requests(), cursor_day - timedelta(days=1), sim.now())
        assert read_cursors(str(tmp_path / "state"))["users"] == sim.now()


@pytest.mark.postgres
def test_first_load_and_next_day_postgres(tmp_path, pg_database):
    with run_simulator(_cfg(seed=4)) as sim:
        _sync(sim, tmp_path, destination="postgres", credentials=pg_database)
        sim.advance(timedelta(days=2), activity=True)
        _sync(sim, tmp_path, destination="postgres", credentials=pg_database)
        conn = psycopg2.connect(pg_database)
        try:
            assert diff_all(sim, conn) == []
            cur = conn.cursor()
            cur.execute("select data_type from information_schema.columns where table_schema='litmos_raw' "
                        "and table_name='module_results' and column_name in ('updated_date','time_taken',"
                        "'completed','_litmos_synced_at') order by column_name")
            assert [r[0] for r in cur.fetchall()] == [
                "timestamp with time zone", "boolean", "bigint", "timestamp with time zone"]
        finally:
            conn.close()


def test_json_format_and_day_granular_to_and_client_timezone(tmp_path, monkeypatch):
    # JSON (WCF and ISO dates), the stricter `to` reading, and a client clock in Tokyo: same truth.
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        with run_simulator(_cfg(seed=5, day_granular_to=True, history_days=20)) as sim:
            _sync(sim, tmp_path, response_format="json", start_date="2025-12-20")
            sim.advance(timedelta(days=1), activity=True)
            _sync(sim, tmp_path, response_format="json")
            assert _diff_duckdb(sim, tmp_path) == []
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_faults_5xx_truncation_drops_still_equal_truth(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__MAX_RETRIES", "10")
    with run_simulator(_cfg(seed=6, fail_rate=0.10, truncate_rate=0.05, drop_rate=0.03, history_days=20)) as sim:
        result = _sync(sim, tmp_path, start_date="2025-12-20")
        stats = sim.stats()
        assert stats["by_fault"].get("error", 0) > 0 and stats["by_fault"].get("truncate", 0) > 0
        assert result.retries_total == sum(stats["by_fault"].values())
        assert _diff_duckdb(sim, tmp_path) == []


def test_end_date_backfill_leaves_cursors_alone(tmp_path):
    with run_simulator(_cfg(seed=7)) as sim:
        _sync(sim, tmp_path, resources=["teams", "users"], start_date="2026-01-10")
        before = read_cursors(str(tmp_path / "state"))
        sim.clear_requests()
        result = _sync(sim, tmp_path, resources=["teams", "users"], start_date="2025-12-01",
                       end_date="2025-12-31")
        assert read_cursors(str(tmp_path / "state")) == before
        windows = sorted({(s, t) for p, s, t, _ in _org_requests(sim.requests()) if p == "/org/teams"})
        assert windows[0][0] == datetime(2025, 12, 1, tzinfo=UTC)
        assert windows[-1][1] == datetime(2026, 1, 1, tzinfo=UTC)
        assert result.resources["teams"].cursor_after == before["teams"]
        conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        december = conn.execute("select count(*) from litmos_raw.teams where updated_date < '2026-01-01'").fetchone()
        conn.close()
        assert december[0] == sum(1 for r in sim.ground_truth("/org/teams")
                                  if r["UpdatedDate"] < datetime(2026, 1, 1, tzinfo=UTC))


def test_key_never_leaks_into_state_warehouse_or_logs(tmp_path, caplog):
    caplog.set_level("DEBUG")
    with run_simulator(_cfg(seed=8)) as sim:
        _sync(sim, tmp_path, start_date="2026-01-12", auth_in_query=True)
    assert KEY not in caplog.text
    found = []
    for root, _, files in os.walk(tmp_path):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                if KEY.encode() in fh.read():
                    found.append(name)
    assert found == []


def test_login_keys_are_not_stored_unless_asked_for(tmp_path, monkeypatch):
    """LoginKey logs its user in without a password: the column exists, NULL, unless opted in."""
    with run_simulator(_cfg(seed=8)) as sim:
        _sync(sim, tmp_path / "default", resources=["users", "user_logins"])
        monkeypatch.setenv("SOURCES__LITMOS__STORE_LOGIN_KEYS", "true")
        _sync(sim, tmp_path / "kept", resources=["users", "user_logins"])
        truth_keys = {r["Id"]: r["LoginKey"] for r in sim.ground_truth("/org/users/details")}
        served = [r for r in sim.requests() if r.path == "/org/users/details" and r.rows]
        for name, stored in (("default", False), ("kept", True)):
            conn = duckdb.connect(str(tmp_path / name / "w.duckdb"), read_only=True)
            try:
                assert diff_all(sim, conn, tables=["users", "user_logins"], login_keys_stored=stored) == []
                keys = dict(conn.execute("select id, login_key from litmos_raw.users").fetchall())
                (kind,) = conn.execute("select data_type from information_schema.columns where "
                                       "table_name = 'users' and column_name = 'login_key'").fetchone()
            finally:
                conn.close()
            assert kind == "VARCHAR" and keys
            if stored:
                assert keys == {k: truth_keys[k] for k in keys} and all(keys.values())
            else:
                assert set(keys.values()) == {None}
    assert served  # the simulator did send LoginKeys (every user has one)
    assert all(truth_keys.values())


def test_litmos_source_used_directly_with_dlt(tmp_path, monkeypatch):
    import dlt

    from sources.litmos import litmos_source

    with run_simulator(_cfg(seed=9, history_days=10)) as sim:
        monkeypatch.setenv("SOURCES__LITMOS__API_KEY", sim.api_key)
        monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", sim.base_url)
        monkeypatch.setenv("SOURCES__LITMOS__SOURCE", "direct-use")
        pipeline = dlt.pipeline("direct", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                                dataset_name="litmos_raw", pipelines_dir=str(tmp_path / "state"))
        pipeline.run(litmos_source(start_date="2025-12-20", resources=["teams", "team_users"],
                                   requests_per_minute=0))
        assert {r.params["source"] for r in sim.requests()} == {"direct-use"}
        conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            assert diff_all(sim, conn, tables=["teams", "team_users"]) == []
        finally:
            conn.close()
        assert pipeline.state["sources"]["litmos"]["cursors"]["teams"] == SIM_NOW.isoformat()


def test_pages_reach_dlt_combined_in_tables_of_at_most_rows_per_item(tmp_path, monkeypatch):
    """Consecutive pages of a resource are handed to dlt as one table of <= ROWS_PER_ITEM rows; the
    warehouse still equals the truth (merge keys, dedup on the cursor, typed columns) and the cursors
    move as without combining."""
    from sources.litmos import resources as session_module

    handed: list[tuple[int, int]] = []  # (pages, rows) of each table handed to dlt

    class Recording(session_module._PageBuffer):
        def flush(self):
            pages = len(self.pages)
            for table in super().flush():
                handed.append((pages, table.num_rows))
                yield table

    monkeypatch.setattr(session_module, "ROWS_PER_ITEM", 150)
    monkeypatch.setattr(session_module, "_PageBuffer", Recording)
    with run_simulator(_cfg()) as sim:
        result = _sync(sim, tmp_path)
        assert _diff_duckdb(sim, tmp_path) == []
    assert handed and all(rows <= 150 or pages == 1 for pages, rows in handed)
    assert any(pages > 1 for pages, _ in handed)  # pages really were combined
    delta = [t for t, e in ENDPOINTS.items() if e.kind == "delta"]
    assert sum(rows for _, rows in handed) == sum(result.resources[t].rows for t in delta)
    assert all(read_cursors(str(tmp_path / "state"))[t] == SIM_NOW for t in delta)
