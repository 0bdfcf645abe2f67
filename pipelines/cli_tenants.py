"""The CLI's many-org side: `run --tenant/--all-tenants/--parallel`, `status` and `tenants`.

Without tenants configured `run` and `status` behave as for the single org. With tenants, `run` runs all
of them by default: one in this process, several in parallel processes (:mod:`pipelines.fleet`).
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Sequence

from pipelines import config
from pipelines.config import ConfigError
from pipelines.run_errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, fail, interrupts


def warehouse_credentials(args: argparse.Namespace) -> str:
    """Checks `--destination` and `--dataset`; returns the destination's credentials."""
    config.validate_destination(args.destination)
    config.validate_dataset(args.dataset)
    return config.resolve_credentials(args.destination)


def plan_runs(args: argparse.Namespace, common: dict[str, Any]) -> list[Any] | None:
    """The validated `RunOptions` of each tenant this run names; None = the single org (no tenants).

    Raises:
        ConfigError: Conflicting flags, an unknown tenant or one without a key, a bad `--parallel`.
    """
    from pipelines import fleet, tenants  # noqa: PLC0415

    if args.tenant is not None and args.all_tenants:
        raise ConfigError("--tenant and --all-tenants exclude each other; give one of them")
    if args.parallel is not None and args.parallel < 1:
        raise ConfigError(f"--parallel {args.parallel} must be at least 1, e.g. --parallel 4")
    if not tenants.configured_names() and args.tenant is None and not args.all_tenants:
        return None  # the single org: validated by runner.prepare exactly as before tenants
    config.validate_dataset(args.dataset)
    configured = tenants.load_tenants()
    chosen = tenants.select(configured, args.tenant, args.dataset)
    return [fleet.tenant_options(t, configured, args.dataset, **common) for t in chosen]


def run_many(args: argparse.Namespace, runs: Sequence[Any], secrets: list[str]) -> int:
    """Runs several tenants in parallel processes; prints a line per tenant and an error line per failed
    one (`tenant beta failed: <reason>`); returns the exit status."""
    from pipelines import fleet  # noqa: PLC0415
    from pipelines.logging_setup import configure_logging  # noqa: PLC0415
    from pipelines.warehouse import check_destination  # noqa: PLC0415

    check_destination(runs[0].destination, runs[0].credentials)  # unwritable/locked/unreachable: exit 2 now
    log = configure_logging(args.log_format, args.quiet, secrets)
    parallel = args.parallel or fleet.default_parallel(len(runs))
    log.info("running %d tenants, %d at a time: %s", len(runs), parallel, ", ".join(o.tenant for o in runs))
    with interrupts():
        result = fleet.run_fleet(runs, parallel, log_format=args.log_format, quiet=args.quiet,
                                 run_dbt=not args.no_dbt)
    if not args.quiet and args.log_format == "text":
        print(format_fleet_summary(result))
    elif not args.quiet:
        for o in result.outcomes:
            s = o.summary
            log.info("tenant finished", extra={"tenant": o.tenant, "dataset": o.dataset,
                                                "status": "success" if o.ok else "failed",
                                                "run_id": s and s.run_id, "rows": s and s.rows_total,
                                                "requests": s and s.requests_total, "dbt": result.dbt_status})
    for o in result.failed:
        fail(f"tenant {o.tenant} failed: {o.error}", secrets, EXIT_FAILED)
    if result.failed:
        if any(o.interrupted for o in result.failed):
            return EXIT_INTERRUPTED
        return EXIT_USAGE if all(o.usage for o in result.failed) else EXIT_FAILED
    rejects = [o for o in result.outcomes if o.summary and o.summary.rejects]
    if rejects:
        from sources.litmos.rejects import EXIT_REJECTS  # noqa: PLC0415

        for o in rejects:
            note = next((n for n in o.summary.notes if "could not be decoded" in n), "records were quarantined")
            fail(f"tenant {o.tenant}: {note}", secrets, EXIT_REJECTS)
        return EXIT_REJECTS
    return EXIT_OK


def format_fleet_summary(result: Any) -> str:
    """One line per tenant and one for the marts (the failed tenants' reasons go to stderr)."""
    lines = []
    for o in result.outcomes:
        s = o.summary
        if not o.ok:
            lines.append(f"tenant {o.tenant}: failed -> dataset {o.dataset} (reason on stderr)")
            continue
        wall = (s.finished_at - s.started_at).total_seconds() if s.finished_at else 0.0
        lines.append(f"tenant {o.tenant}: success -> {s.destination} {s.credentials_display} dataset {o.dataset}: "
                     f"{s.rows_total} rows, {s.requests_total} requests, {s.retries_total} retries in {wall:.1f}s; "
                     f"run {s.run_id}")
        lines.extend(f"  {note}" for note in s.notes)
    over = ", ".join(name for name, _ in result.marts_tenants or [])
    lines.append(f"dbt: {result.dbt_status}" + (f" (marts over {over})" if over else ""))
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    """`litmos-sync status`: of the single org, or of each (chosen) tenant."""
    from pipelines import tenants  # noqa: PLC0415
    from pipelines.status import collect_status, format_status  # noqa: PLC0415

    credentials = warehouse_credentials(args)
    if not tenants.configured_names() and args.tenant is None:
        rows = collect_status(args.destination, credentials, args.dataset, args.state_dir)
        return _print(args, rows, lambda: format_status(rows))
    chosen = tenants.select(tenants.load_tenants(require_keys=False), args.tenant, args.dataset)
    found = [(t.name, t.dataset(args.dataset), collect_status(args.destination, credentials, t.dataset(args.dataset),
                                                              args.state_dir, t.pipeline_name)) for t in chosen]
    return _print(args, [{"tenant": name, "dataset": dataset, **row} for name, dataset, rows in found for row in rows],
                  lambda: "\n\n".join(f"tenant {name} (dataset {dataset})\n{format_status(rows)}"
                                       for name, dataset, rows in found))


def cmd_tenants(args: argparse.Namespace) -> int:
    """`litmos-sync tenants`: each tenant with its dataset, base URL and last run; never its key."""
    from pipelines import tenants  # noqa: PLC0415

    credentials = warehouse_credentials(args)
    configured = tenants.select(tenants.load_tenants(require_keys=False), None, args.dataset)
    rows = [{"tenant": t.name, "dataset": t.dataset(args.dataset), "base_url": t.base_url, "source": t.source,
             "pipeline": t.pipeline_name, "api_key_set": bool(t.api_key),
             **_last_run(args.destination, credentials, t.dataset(args.dataset))} for t in configured]
    return _print(args, rows, lambda: _tenants_table(rows))


def _tenants_table(rows: list[dict[str, Any]]) -> str:
    from pipelines.status import _fmt_int, _fmt_ts  # noqa: PLC0415

    width = max(len("tenant"), *(len(r["tenant"]) for r in rows))
    dwidth = max(len("dataset"), *(len(r["dataset"]) for r in rows))
    lines = [f"{'tenant':<{width}} {'dataset':<{dwidth}} {'last run':<19} {'status':<8} {'rows':>9} base_url"]
    for r in rows:
        lines.append(f"{r['tenant']:<{width}} {r['dataset']:<{dwidth}} {_fmt_ts(r['last_run_at']):<19} "
                     f"{r['last_status'] or '-':<8} {_fmt_int(r['last_rows']):>9} {r['base_url']}"
                     + ("" if r["api_key_set"] else "  (no api_key)"))
        if r["last_status"] == "failed" and r["last_error"]:
            lines.append(f"  error: {r['last_error']}")
    return "\n".join(lines)


def _print(args: argparse.Namespace, doc: Any, text: Any) -> int:
    """Prints `doc` as JSON (`--format json`) or `text()`; returns EXIT_OK."""
    print(json.dumps(doc, default=str, indent=2) if args.output_format == "json" else text())
    return EXIT_OK


def _last_run(destination: str, credentials: str, dataset: str) -> dict[str, Any]:
    from pipelines import run_history  # noqa: PLC0415
    from pipelines.warehouse import open_warehouse  # noqa: PLC0415

    last: dict[str, Any] = {}
    if destination != "duckdb" or os.path.exists(credentials):  # else nothing loaded yet
        with open_warehouse(destination, credentials, read_only=destination == "duckdb") as wh:
            last = run_history.last_run(wh, dataset) or {}
    return {"last_run_at": last.get("started_at"), "last_status": last.get("status"),
            "last_rows": last.get("rows_loaded"), "last_error": last.get("error")}
