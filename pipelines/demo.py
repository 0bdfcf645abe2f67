"""`litmos-sync demo`: the whole product against the built-in simulator, no API key or network needed.

Backfills the in-process simulator's history into `<output>/litmos_demo.duckdb` by `litmos-sync run`'s
code path, builds the marts, prints a summary and writes `<output>/report.html`.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines import runner
from pipelines.config import marts_schema
from pipelines.progress import ProgressTracker, make_renderer
from pipelines.report import STATUSES, write_report
from pipelines.warehouse import open_warehouse, quote_ident

DEMO_DB = "litmos_demo.duckdb"
DEMO_DATASET = "litmos_raw"
DEMO_MARTS = marts_schema(DEMO_DATASET)


@dataclass
class DemoResult:
    """What the demo produced: paths, counts and the printed summary."""

    database: Path
    report: Path
    rows_per_table: dict[str, int]
    requests: int
    compliance_by_status: dict[str, int]
    summary_text: str = ""


def run_demo(output_dir: str | Path = "demo_output", scale: int = 300, history_days: int = 90, seed: int = 1,
             quiet: bool = False, log_format: str = "text", log: logging.Logger | None = None) -> DemoResult:
    """Runs the demo end to end into `output_dir` (its own files there are replaced: reproducible) with
    `scale` simulated users and `history_days` of history."""
    from litmos_sim import SimConfig, run_simulator  # noqa: PLC0415 - the simulator is only for the demo

    log = log or logging.getLogger("litmos_sync")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / DEMO_DB
    state_dir = out / "state"
    for stale in (db_path, Path(f"{db_path}.wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(state_dir, ignore_errors=True)

    api_key = "demo-" + secrets.token_hex(8)
    cfg = SimConfig(seed=seed, scale=scale, api_key=api_key, history_days=history_days, rate_limit=None)
    with run_simulator(cfg) as sim:
        start = (sim.now() - dt.timedelta(days=history_days + 1)).date()
        log.info("simulator on %s: %d users, %d days of history; backfilling from %s", sim.base_url, scale,
                 history_days, start.isoformat())
        opts = runner.prepare(destination="duckdb", credentials=str(db_path), dataset=DEMO_DATASET,
                              start_date=start, state_dir=str(state_dir), run_dbt=True, api_key=sim.api_key,
                              base_url=sim.base_url, source_name="litmos-sync-demo", requests_per_minute=0,
                              pipeline_name="litmos_demo", dbt_quiet=True)
        progress = ProgressTracker(make_renderer(quiet, log_format, emit=log.info), resources=opts.resources)
        try:
            summary = runner.run_sync(options=opts, on_event=progress)
        finally:
            progress.close()
        sim_requests = int(sim.stats().get("requests", 0))
    report = write_report("duckdb", str(db_path), out / "report.html", dataset=DEMO_DATASET)
    with open_warehouse("duckdb", str(db_path), read_only=True) as wh:
        rows = {t: n for t in sorted(r.resource for r in summary.resources)
                if (n := wh.count_rows(DEMO_DATASET, t)) is not None}
        compliance = {s: 0 for s in STATUSES}
        for row in wh.query(f"SELECT compliance_status AS s, count(*) AS n FROM "
                            f"{quote_ident(DEMO_MARTS)}.fct_compliance GROUP BY 1"):
            compliance[str(row["s"])] = int(row["n"])
    result = DemoResult(database=db_path, report=report, rows_per_table=rows, requests=sim_requests,
                        compliance_by_status=compliance)
    result.summary_text = format_demo_summary(result)
    return result


DEMO_QUERY = ("select team_path, scope, tracked_count, compliant_count, overdue_count, compliance_rate "
              f"from {DEMO_MARTS}.team_compliance_summary order by team_path, scope")


def query_command(database: Path, sql: str = DEMO_QUERY) -> str:
    """A shell command that prints a query's result, using this Python's duckdb (no duckdb CLI needed)."""
    python = Path(sys.executable)
    try:  # .venv/bin/python when run from the checkout, as README's `make demo` does
        python = python.relative_to(Path.cwd())
    except ValueError:
        pass
    code = (f"import duckdb; duckdb.connect({json.dumps(str(database))}, read_only=True)"
            f".sql({json.dumps(sql)}).show(max_width=200)")
    return f"{shlex.quote(str(python))} -c {shlex.quote(code)}"


def format_demo_summary(result: DemoResult) -> str:
    """The text the demo prints: rows per table, requests, compliance by status, where the files are."""
    width = max([len(t) for t in result.rows_per_table] + [10])
    lines = ["", f"Rows per raw table ({DEMO_DATASET}):"]
    lines += [f"  {table:<{width}} {n:>8,}" for table, n in result.rows_per_table.items()]
    lines.append(f"  {'total':<{width}} {sum(result.rows_per_table.values()):>8,}")
    lines.append(f"API requests made: {result.requests:,}")
    lines.append(f"Compliance by status ({DEMO_MARTS}.fct_compliance):")
    lines += [f"  {status:<{width}} {n:>8,}" for status, n in result.compliance_by_status.items()]
    lines.append(f"Warehouse: {result.database}   (query it: {query_command(result.database)})")
    lines.append(f"Report:    {result.report}   (open it in a browser)")
    return "\n".join(lines)
