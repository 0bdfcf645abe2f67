"""The DuckDB warehouse's memory cap (``sources.litmos.duckdb_memory_limit``) holds for a load whose
merges, run together, would need more than the cap.

A first sync loads every table in one package, and dlt ran up to 20 of its load jobs at once on the one
buffer pool of the database; each running load or merge of a wide table (users: 55 text columns) keeps
part of it pinned, so they failed with "failed to pin block" and only dlt's job retries got the sync
through. Here a few wide tables go through the same staging load + delete-insert merge (ROW_NUMBER
dedup) with the destination ``pipelines.sync`` builds, at a cap each merge fits in alone.
"""
from __future__ import annotations

import dlt
import duckdb
import pyarrow as pa
import pytest

from pipelines.destination import dlt_destination as _destination

TABLES = 6
ROWS = 6_000
TEXT_COLUMNS = 53  # + id + updated_date: as wide as users
# One of these loads and merges at a time fits in 32MB; the six run together (dlt's default) failed at
# 64MB, or got through only on job retries.
CAP = "64MB"


def _wide(table: int) -> pa.Table:
    ids = [f"{table:02d}-{i:08d}" for i in range(ROWS)]
    columns = {"id": ids, "updated_date": pa.array([1_700_000_000_000_000 + i for i in range(ROWS)],
                                                   pa.timestamp("us", tz="UTC"))}
    for c in range(TEXT_COLUMNS):
        # 24+ characters: DuckDB keeps them out of line, as it does an address or a custom field
        columns[f"field_{c:02d}"] = [f"value {c:02d} of row {i:08d} x" for i in range(ROWS)]
    return pa.table(columns)


def _source():
    return [dlt.resource(_wide(t), name=f"wide_{t}", write_disposition="merge", primary_key="id",
                         columns={"updated_date": {"dedup_sort": "desc"}}) for t in range(TABLES)]


@pytest.fixture
def capped(monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__DUCKDB_MEMORY_LIMIT", CAP)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


def test_merges_of_wide_tables_fit_the_cap_without_retries(capped, duckdb_path, tmp_path):
    pipeline = dlt.pipeline(pipeline_name="wide", destination=_destination("duckdb", duckdb_path),
                            dataset_name="raw", pipelines_dir=str(tmp_path / "state"))

    info = pipeline.run(_source())

    retried = sorted(job.job_file_info.file_name() for package in info.load_packages
                     for jobs in package.jobs.values() for job in jobs if job.job_file_info.retry_count)
    assert retried == [], f"load jobs retried (DuckDB out of memory at {CAP}): {retried}"
    assert not info.has_failed_jobs
    con = duckdb.connect(duckdb_path, read_only=True)
    try:
        counts = [con.execute(f"select count(*), count(distinct id) from raw.wide_{t}").fetchone()
                  for t in range(TABLES)]
    finally:
        con.close()
    assert counts == [(ROWS, ROWS)] * TABLES


def test_duckdb_settings_are_overridable(monkeypatch, duckdb_path):
    monkeypatch.setenv("SOURCES__LITMOS__DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("SOURCES__LITMOS__DUCKDB_THREADS", "2")
    dest = _destination("duckdb", duckdb_path)
    assert dest.config_params["credentials"].global_config == {"memory_limit": "1GB", "threads": 2}
    assert dest.capabilities().max_parallel_load_jobs == 1
