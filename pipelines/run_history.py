"""The run history table `<dataset>._litmos_sync_runs`: one row per resource per run.

Written at the end of every `litmos-sync run` (successful or not) with plain SQL on the warehouse, so a
scheduler, an analyst and `litmos-sync status` all see the same record of what each night did. Error
texts are redacted before they get here: the API key never reaches the warehouse.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable

from pipelines.warehouse import Warehouse, quote_ident

TABLE = "_litmos_sync_runs"

# Column order = dataclass field order below. `rows_loaded` rather than `rows`: ROWS is an SQL keyword.
_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    run_id VARCHAR NOT NULL,
    resource VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    duration_s DOUBLE PRECISION,
    windows_total INTEGER,
    windows_done INTEGER,
    pages BIGINT,
    requests BIGINT,
    retries BIGINT,
    rows_loaded BIGINT,
    cursor_before TIMESTAMPTZ,
    cursor_after TIMESTAMPTZ,
    start_date DATE,
    end_date DATE,
    destination VARCHAR,
    dbt_status VARCHAR,
    error VARCHAR,
    PRIMARY KEY (run_id, resource)
)
"""


@dataclass
class ResourceRun:
    """One row of the run history: what one run did for one resource.

    `status` is `success`, `failed` (this resource raised or was interrupted), `not_run` (the run
    failed before reaching it) or `skipped` (a collection-family table whose full read was not due,
    see `collection_refresh_days`; its rows are unchanged). `dbt_status` is `success`, `failed` or `skipped` for the whole run.
    """

    run_id: str
    resource: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    duration_s: float | None = None
    windows_total: int | None = None
    windows_done: int | None = None
    pages: int | None = None
    requests: int | None = None
    retries: int | None = None
    rows_loaded: int | None = None
    cursor_before: dt.datetime | None = None
    cursor_after: dt.datetime | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    destination: str | None = None
    dbt_status: str | None = None
    error: str | None = None


COLUMNS = tuple(f.name for f in fields(ResourceRun))


def table_name(dataset: str) -> str:
    """Fully qualified, quoted name of the history table in `dataset`."""
    return f"{quote_ident(dataset)}.{quote_ident(TABLE)}"


def ensure_table(wh: Warehouse, dataset: str) -> None:
    """Create the dataset schema and the history table if missing (idempotent)."""
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(dataset)}")
    wh.execute(_DDL.format(table=table_name(dataset)))


def record(wh: Warehouse, dataset: str, runs: Iterable[ResourceRun]) -> int:
    """Insert the rows of one run. Returns the number of rows written."""
    rows = [[_sql_value(v) for v in asdict(run).values()] for run in runs]
    ensure_table(wh, dataset)
    placeholders = ", ".join("?" for _ in COLUMNS)
    wh.executemany(f"INSERT INTO {table_name(dataset)} ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows)
    return len(rows)


def history(wh: Warehouse, dataset: str, limit: int | None = None) -> list[dict[str, Any]]:
    """All history rows, newest run first (empty when the table does not exist yet)."""
    if not wh.table_exists(dataset, TABLE):
        return []
    sql = f"SELECT {', '.join(COLUMNS)} FROM {table_name(dataset)} ORDER BY started_at DESC, resource"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return wh.query(sql)


def latest_per_resource(wh: Warehouse, dataset: str) -> dict[str, dict[str, Any]]:
    """For each resource: its latest run row plus `last_success_at` and `rows_total` over all runs.

    Returns:
        {resource: {<latest row columns>..., "last_success_at": datetime|None, "rows_total": int}}
    """
    if not wh.table_exists(dataset, TABLE):
        return {}
    t = table_name(dataset)
    latest = wh.query(
        f"SELECT {', '.join('r.' + c for c in COLUMNS)} FROM {t} r "
        f"JOIN (SELECT resource, max(started_at) AS m FROM {t} GROUP BY resource) l "
        "ON r.resource = l.resource AND r.started_at = l.m ORDER BY r.resource"
    )
    totals = {
        row["resource"]: row
        for row in wh.query(
            f"SELECT resource, max(CASE WHEN status = 'success' THEN finished_at END) AS last_success_at, "
            f"coalesce(sum(rows_loaded), 0) AS rows_total FROM {t} GROUP BY resource"
        )
    }
    out: dict[str, dict[str, Any]] = {}
    for row in latest:
        agg = totals.get(row["resource"], {})
        row["last_success_at"] = agg.get("last_success_at")
        row["rows_total"] = int(agg.get("rows_total") or 0)
        out[row["resource"]] = row
    return out


def _sql_value(value: Any) -> Any:
    # Both drivers take aware datetimes; normalise naive ones to UTC so the column is unambiguous.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value
