"""The run history table `<dataset>._litmos_sync_runs`: one row per resource per run, written at the end of
every `litmos-sync run` and read by `status`, the report and anyone with SQL. Written and read with dlt through
a pipeline of its own (`<pipeline>_sync_runs`), so its state and packages are never the data pipeline's.
Error texts are redacted before they get here: the API key never reaches the warehouse.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable, Iterator

from pipelines.warehouse import Warehouse, quote_ident
from sources.litmos.stats import ResourceStats

TABLE = "_litmos_sync_runs"
PIPELINE_SUFFIX = "_sync_runs"


@dataclass
class ResourceRun:
    """What one run did for one resource. `status`: `success`, `failed` (raised or interrupted), `not_run`
    (the run failed before it) or `skipped` (a collection table whose full read was not due). `dbt_status`:
    `success`, `failed` or `skipped`, for the whole run. `rows_loaded`, not `rows`: an SQL keyword."""

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


FIELDS = tuple(f.name for f in fields(ResourceRun))
COLUMNS = (*FIELDS, "_dlt_load_id", "_dlt_id")  # the row's fields, then the two dlt adds
_TYPES = {"started_at": "timestamp", "finished_at": "timestamp", "cursor_before": "timestamp",
          "cursor_after": "timestamp", "start_date": "date", "end_date": "date", "duration_s": "double",
          **{c: "bigint" for c in ("windows_total", "windows_done", "pages", "requests", "retries", "rows_loaded")}}
# Every column typed up front (no type guessed from a NULL); dlt's own two nullable, so that a table
# created by the plain-SQL writer of earlier versions (rows without them) takes them by ALTER TABLE.
_HINTS = {name: {"data_type": _TYPES.get(name, "text"), "nullable": name not in ("run_id", "resource", "status",
                                                                                 "started_at")}
          for name in FIELDS} | {name: {"data_type": "text", "nullable": True} for name in COLUMNS[len(FIELDS):]}
_DUCKDB_TYPES = {"text": "VARCHAR", "timestamp": "TIMESTAMP WITH TIME ZONE", "date": "DATE", "double": "DOUBLE",
                 "bigint": "BIGINT"}  # what dlt's DuckDB destination makes of _HINTS


def from_stats(run_id: str, resource: str, status: str, stats: ResourceStats | None,
               **row: Any) -> ResourceRun:
    """The history row of one resource from its run stats (None: it never started, no counts)."""
    counts: dict[str, Any] = {} if stats is None else {"rows_loaded": stats.rows, **{k: getattr(stats, k) for k in (
        "duration_s", "windows_total", "windows_done", "pages", "requests", "retries", "cursor_before", "cursor_after")}}
    return ResourceRun(run_id=run_id, resource=resource, status=status, **{**counts, **row})


def _target(wh: Warehouse, dataset: str) -> Any:
    """The dlt destination of an open warehouse (DuckDB: through its open connection, as DuckDB refuses a
    second instance of a file with other settings in one process)."""
    from pipelines.destination import dlt_destination  # noqa: PLC0415

    return dlt_destination(wh.destination, wh.connection if wh.destination == "duckdb" else wh.credentials, dataset)


@contextmanager
def _pipeline(target: Any, dataset: str, state_dir: str | None, name: str) -> Iterator[Any]:
    """A dlt pipeline on ``target`` in ``state_dir`` or, for readers and one-off writes, a temporary one."""
    import dlt  # noqa: PLC0415 - slow import

    with tempfile.TemporaryDirectory(prefix="litmos-runs-") if state_dir is None else nullcontext(state_dir) as path:
        yield dlt.pipeline(pipeline_name=name, destination=target, dataset_name=dataset, pipelines_dir=path,
                           progress=None)


def record(wh: Warehouse | tuple[str, str], dataset: str, runs: Iterable[ResourceRun],
           state_dir: str | None = None, pipeline_name: str = "litmos") -> int:
    """Appends the rows of one run to ``dataset``; returns how many. The history pipeline
    (``<pipeline_name>_sync_runs``) keeps its state in ``state_dir``, the data pipeline's. ``wh`` is the
    open warehouse or its ``(destination, credentials)``: then it is opened for the load step only
    (extract and normalize need no connection), so a tenant of a parallel run holds a DuckDB file a
    fraction of a second for its history."""
    import dlt  # noqa: PLC0415

    from pipelines.destination import dlt_destination  # noqa: PLC0415
    from pipelines.load_priority import prepared  # noqa: PLC0415
    from pipelines.state_hygiene import prune_loaded_packages  # noqa: PLC0415
    from pipelines.warehouse import open_warehouse  # noqa: PLC0415

    rows = _rows(runs)
    if not rows:
        return 0
    destination, credentials = (wh.destination, wh.credentials) if isinstance(wh, Warehouse) else wh
    # A destination from the credentials gives the file formats without connecting; the load goes
    # through the open warehouse's connection.
    with _pipeline(dlt_destination(destination, credentials, dataset), dataset, state_dir,
                   pipeline_name + PIPELINE_SUFFIX) as pipeline:
        prepared(pipeline.extract)(dlt.resource(rows, name=TABLE, write_disposition="append", columns=_HINTS))
        prepared(pipeline.normalize)()  # below the loads of other tenants, as a batch's (pipelines.load_priority)
        with nullcontext(wh) if isinstance(wh, Warehouse) else open_warehouse(destination, credentials) as opened:
            pipeline.load(destination=_target(opened, dataset))
        prune_loaded_packages(pipeline)  # else a package a night piles up in its load/loaded/
    return len(rows)


def append(connection: Any, dataset: str, runs: Iterable[ResourceRun]) -> int:
    """Appends the rows of one run with one INSERT through an open DuckDB connection; returns how many.

    For a tenant of a parallel DuckDB run, in its last turn on the file (the connection is the turn's):
    :func:`record`'s load step costs about 0.2 s of dlt configuration and its own turn, an open and a
    checkpoint of the file, while the other tenants queue for it; this costs milliseconds. The table is
    created as dlt creates it (same columns, types and nullability, dlt's two columns filled the same way),
    so a later :func:`record` finds it as its own.
    """
    from dlt.common.utils import uniq_id_base64  # noqa: PLC0415

    rows = _rows(runs)
    if not rows:
        return 0
    load_id = str(dt.datetime.now(dt.timezone.utc).timestamp())  # dlt's form of a load id
    values = [value for row in rows for value in (*(row[f] for f in FIELDS), load_id, uniq_id_base64(10))]
    table = f"{quote_ident(dataset)}.{quote_ident(TABLE)}"
    columns = ", ".join(f"{quote_ident(name)} {_DUCKDB_TYPES[hint['data_type']]}"
                        f"{'' if hint['nullable'] else ' NOT NULL'}" for name, hint in _HINTS.items())
    placeholders = ", ".join(["(" + ", ".join(["?"] * len(COLUMNS)) + ")"] * len(rows))
    cursor = connection.cursor()
    try:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(dataset)}")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        cursor.execute(f"INSERT INTO {table} ({', '.join(map(quote_ident, COLUMNS))}) VALUES {placeholders}", values)
    finally:
        cursor.close()
    return len(rows)


def history(wh: Warehouse, dataset: str, limit: int | None = None) -> list[dict[str, Any]]:
    """All history rows, newest run first (empty when the table does not exist yet)."""
    sql = f"SELECT {', '.join(FIELDS)} FROM {{t}} ORDER BY started_at DESC, resource"
    return _query(wh, dataset, sql + (f" LIMIT {int(limit)}" if limit else ""))


def latest_per_resource(wh: Warehouse, dataset: str) -> dict[str, dict[str, Any]]:
    """{resource: its latest row, plus `last_success_at` and `rows_total` over all its runs}."""
    rows = _query(wh, dataset, (
        f"SELECT {', '.join('r.' + c for c in FIELDS)}, a.last_success_at, a.rows_total FROM {{t}} r "
        "JOIN (SELECT resource, max(started_at) AS m, "
        "max(CASE WHEN status = 'success' THEN finished_at END) AS last_success_at, "
        "coalesce(sum(rows_loaded), 0) AS rows_total FROM {t} GROUP BY resource) a "
        "ON r.resource = a.resource AND r.started_at = a.m ORDER BY r.resource"))
    return {row["resource"]: {**row, "rows_total": int(row["rows_total"] or 0)} for row in rows}


def last_run(wh: Warehouse, dataset: str) -> dict[str, Any] | None:
    """The newest run in `dataset`: run_id, started_at, finished_at, status (`failed` when any of its
    resources failed), rows_loaded (summed) and error (of a failed resource); None before the first run."""
    rows = _query(wh, dataset, (
        "SELECT run_id, min(started_at) AS started_at, max(finished_at) AS finished_at, "
        "coalesce(sum(rows_loaded), 0) AS rows_loaded, max(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed, "
        "max(CASE WHEN status = 'failed' THEN error END) AS error "
        "FROM {t} GROUP BY run_id ORDER BY min(started_at) DESC LIMIT 1"))
    if not rows:
        return None
    row = rows[0]
    failed = row.pop("failed")
    return {**row, "status": "failed" if failed else "success", "rows_loaded": int(row["rows_loaded"] or 0)}


def _query(wh: Warehouse, dataset: str, sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` (``{t}`` = the history table) as dicts; [] while the table does not exist."""
    if not wh.table_exists(dataset, TABLE):
        return []
    with _pipeline(_target(wh, dataset), dataset, None, "litmos" + PIPELINE_SUFFIX) as pipeline, pipeline.sql_client() as client:
        with client.execute_query(sql.format(t=f"{quote_ident(dataset)}.{quote_ident(TABLE)}")) as cur:
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]


def _rows(runs: Iterable[ResourceRun]) -> list[dict[str, Any]]:
    """The history rows of ``runs`` as written (naive datetimes taken as UTC)."""
    return [{k: _utc(v) for k, v in asdict(run).items()} for run in runs]


def _utc(value: Any) -> Any:
    """Naive datetimes are taken as UTC, so the column is unambiguous."""
    naive = isinstance(value, dt.datetime) and value.tzinfo is None
    return value.replace(tzinfo=dt.timezone.utc) if naive else value
