"""The run history table on both warehouses: DDL, inserts, latest-per-resource, status text."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines import run_history
from pipelines.run_history import ResourceRun
from pipelines.status import format_status
from pipelines.warehouse import open_warehouse

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
T1 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _runs() -> list[ResourceRun]:
    return [
        ResourceRun("run1", "users", "success", T0, T0 + dt.timedelta(minutes=3), 180.5, 52, 52, 60, 61, 1, 5000,
                    None, dt.datetime(2026, 3, 1, tzinfo=UTC), dt.date(2025, 3, 1), None, "duckdb", "success"),
        ResourceRun("run1", "courses", "success", T0, T0 + dt.timedelta(minutes=1), 10.0, 52, 52, 52, 52, 0,
                    40, None, dt.datetime(2026, 3, 1, tzinfo=UTC), dt.date(2025, 3, 1), None, "duckdb", "success"),
        ResourceRun("run2", "users", "failed", T1, T1 + dt.timedelta(seconds=30), 30.0, 2, 1, 1, 6, 5, 12,
                    dt.datetime(2026, 3, 1, tzinfo=UTC), None, None, None, "duckdb", "skipped",
                    "GET /org/users/details kept answering 503 (rate limit) after 5 retries; lower "
                    "--requests-per-minute"),
    ]


def _check(wh, dataset: str, write_first=run_history.record) -> None:
    assert run_history.history(wh, dataset) == []  # no table yet: empty, not an error
    assert write_first(wh, dataset, _runs()[:2]) == 2
    assert run_history.record(wh, dataset, _runs()[2:]) == 1
    rows = run_history.history(wh, dataset)
    assert [(r["run_id"], r["resource"], r["status"]) for r in rows] == [
        ("run2", "users", "failed"), ("run1", "courses", "success"), ("run1", "users", "success")]
    assert rows[2]["rows_loaded"] == 5000 and rows[2]["windows_total"] == 52 and rows[2]["duration_s"] == 180.5
    assert rows[2]["cursor_after"] == dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert rows[2]["start_date"] == dt.date(2025, 3, 1)
    latest = run_history.latest_per_resource(wh, dataset)
    assert set(latest) == {"users", "courses"}
    users = latest["users"]
    assert (users["run_id"], users["status"], users["rows_loaded"], users["rows_total"]) == ("run2", "failed", 12, 5012)
    assert users["last_success_at"] == T0 + dt.timedelta(minutes=3)
    assert latest["courses"]["rows_total"] == 40


def test_history_duckdb(duckdb_path):
    with open_warehouse("duckdb", duckdb_path) as wh:
        _check(wh, "litmos_raw")


def test_history_appended_in_a_kept_turn_then_by_dlt_duckdb(duckdb_path, tmp_path):
    # A tenant of a parallel DuckDB run appends with one INSERT through its turn's connection; a later
    # dlt write appends to that table as to its own.
    with open_warehouse("duckdb", duckdb_path) as wh:
        _check(wh, "litmos_raw", lambda w, dataset, runs: run_history.append(w.connection, dataset, runs))
        ids = wh.query("SELECT _dlt_load_id, _dlt_id FROM litmos_raw._litmos_sync_runs WHERE run_id = 'run1'")
    assert len({r["_dlt_load_id"] for r in ids}) == 1 and float(ids[0]["_dlt_load_id"]) > 1.7e9
    assert len({r["_dlt_id"] for r in ids}) == 2 and {len(r["_dlt_id"]) for r in ids} == {14}


def test_the_insert_makes_the_table_dlt_makes(tmp_path):
    layout = ("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
              "WHERE table_schema = 'litmos_raw' AND table_name = '_litmos_sync_runs' ORDER BY ordinal_position")
    tables = []
    for name, write in (("dlt", lambda wh: run_history.record(wh, "litmos_raw", _runs(), state_dir=str(tmp_path))),
                        ("insert", lambda wh: run_history.append(wh.connection, "litmos_raw", _runs()))):
        with open_warehouse("duckdb", str(tmp_path / f"{name}.duckdb")) as wh:
            assert write(wh) == 3
            tables.append((wh.query(layout), run_history.history(wh, "litmos_raw")))
    assert tables[0] == tables[1]
    assert [c["column_name"] for c in tables[0][0]] == list(run_history.COLUMNS)


@pytest.mark.postgres
def test_history_postgres(pg_database):
    with open_warehouse("postgres", pg_database) as wh:
        _check(wh, "custom_raw")
        cols = wh.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                        "AND table_name = %s ORDER BY ordinal_position", ("custom_raw", "_litmos_sync_runs"))
    types = {c["column_name"]: c["data_type"] for c in cols}
    assert types["started_at"] == "timestamp with time zone" and types["rows_loaded"] == "bigint"
    assert list(types) == list(run_history.COLUMNS)


def test_status_text_shows_cursor_last_run_rows_and_error():
    rows = [
        {"resource": "users", "cursor": dt.datetime(2026, 3, 1, tzinfo=UTC), "last_run_at": T1,
         "last_status": "failed", "last_rows": 12, "last_error": "boom; do X", "last_success_at": T0,
         "rows_in_table": 5012},
        {"resource": "courses", "cursor": None, "last_run_at": None, "last_status": None, "last_rows": None,
         "last_error": None, "last_success_at": None, "rows_in_table": 40},
    ]
    assert format_status(rows).splitlines() == [
        "resource                   cursor               last run             status   rows last rows total",
        "users                      2026-03-01 00:00:00  2026-03-02 02:00:00  failed          12      5,012",
        "  error: boom; do X",
        "courses                    -                    -                    -                -         40",
    ]
    assert format_status([]).startswith("no runs recorded yet")


# The plain-SQL DDL of versions before the history was written with dlt.
_OLD_DDL = """
CREATE TABLE {table} (
    run_id VARCHAR NOT NULL, resource VARCHAR NOT NULL, status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, duration_s DOUBLE PRECISION,
    windows_total INTEGER, windows_done INTEGER, pages BIGINT, requests BIGINT, retries BIGINT,
    rows_loaded BIGINT, cursor_before TIMESTAMPTZ, cursor_after TIMESTAMPTZ, start_date DATE, end_date DATE,
    destination VARCHAR, dbt_status VARCHAR, error VARCHAR, PRIMARY KEY (run_id, resource)
)
"""


@pytest.mark.parametrize("destination", ["duckdb", "postgres"])
def test_a_table_created_by_the_old_plain_sql_writer_is_upgraded_in_place(destination, request, tmp_path):
    credentials = request.getfixturevalue("duckdb_path" if destination == "duckdb" else "pg_database")
    with open_warehouse(destination, credentials) as wh:
        wh.execute("CREATE SCHEMA litmos_raw")
        wh.execute(_OLD_DDL.format(table='litmos_raw."_litmos_sync_runs"'))
        wh.execute("INSERT INTO litmos_raw._litmos_sync_runs (run_id, resource, status, started_at, finished_at, "
                   "rows_loaded) VALUES ('run1', 'users', 'success', TIMESTAMPTZ '2026-03-01 02:00:00+00', "
                   "TIMESTAMPTZ '2026-03-01 02:03:00+00', 5000)")
        assert run_history.record(wh, "litmos_raw", _runs()[2:], state_dir=str(tmp_path / "state")) == 1
        rows = run_history.history(wh, "litmos_raw")
        assert [(r["run_id"], r["resource"], r["status"], r["rows_loaded"]) for r in rows] == [
            ("run2", "users", "failed", 12), ("run1", "users", "success", 5000)]
        assert run_history.latest_per_resource(wh, "litmos_raw")["users"]["rows_total"] == 5012
        assert wh.columns("litmos_raw", "_litmos_sync_runs") == list(run_history.COLUMNS)
