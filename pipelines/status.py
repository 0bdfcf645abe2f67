"""`litmos-sync status`: per resource the cursor (dlt pipeline state), the last run (run history) and the
rows in its raw table; no API request."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pipelines import config, run_history
from pipelines.warehouse import open_warehouse

log = logging.getLogger("litmos_sync")


def collect_status(destination: str, credentials: str, dataset: str, state_dir: str,
                   pipeline_name: str = "litmos") -> list[dict[str, Any]]:
    """One dict per resource with a cursor, a history row or a table: resource, cursor, last_run_at,
    last_status, last_rows, last_error, last_success_at, rows_in_table."""
    from pipelines.sync import read_cursors  # noqa: PLC0415 - imports dlt

    try:  # None: never loaded (or full refresh), not worth a line
        cursors = {k: v for k, v in read_cursors(state_dir=state_dir, pipeline_name=pipeline_name).items()
                   if v is not None}
    except Exception as exc:  # noqa: BLE001 - status is diagnostic, show what we can
        log.warning("could not read cursors from %s: %s", state_dir, (str(exc).splitlines() or [exc])[0])
        cursors = {}
    with open_warehouse(destination, credentials, read_only=destination == "duckdb") as wh:
        latest = run_history.latest_per_resource(wh, dataset)
        counts = {name: n for name in config.known_resources() if (n := wh.count_rows(dataset, name)) is not None}
    names = [n for n in config.known_resources() if n in cursors or n in latest or n in counts]
    names += sorted((set(cursors) | set(latest)) - set(names))  # anything unexpected still shows
    rows = []
    for name in dict.fromkeys(names):
        last = latest.get(name, {})
        rows.append({"resource": name, "cursor": cursors.get(name, last.get("cursor_after")),
                     "last_run_at": last.get("started_at"), "last_status": last.get("status"),
                     "last_rows": last.get("rows_loaded"), "last_error": last.get("error"),
                     "last_success_at": last.get("last_success_at"), "rows_in_table": counts.get(name)})
    return rows


def format_status(rows: list[dict[str, Any]]) -> str:
    """Text table of `collect_status` rows."""
    if not rows:
        return ("no runs recorded yet for this dataset; run `litmos-sync run` first (or check --dataset, "
                "--destination and --state-dir)")
    lines = [f"{'resource':<26} {'cursor':<20} {'last run':<20} {'status':<8} {'rows last':>9} {'rows total':>10}"]
    for r in rows:
        lines.append(f"{r['resource']:<26} {_fmt_ts(r['cursor']):<20} {_fmt_ts(r['last_run_at']):<20} "
                     f"{(r['last_status'] or '-'):<8} {_fmt_int(r['last_rows']):>9} "
                     f"{_fmt_int(r['rows_in_table']):>10}")
        if r.get("last_error") and r.get("last_status") != "success":
            lines.append(f"  error: {r['last_error']}")
    return "\n".join(lines)


def _fmt_ts(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.timezone.utc) if value.tzinfo else value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:19]


def _fmt_int(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"
