"""`litmos-sync`: the command line (run, status, demo, report).

Every failure ends as ONE line `litmos-sync: error: <what and how to fix>` on stderr and a non-zero exit:
2 for bad input/configuration (nothing was requested), 1 for a failed run, 130 when interrupted.
No tracebacks, and the API key is redacted from anything printed.
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
from typing import Any, Sequence

from pipelines import cli_tenants, config
from pipelines.config import ConfigError
from pipelines.run_errors import (EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG,
                                  fail, interrupts)
from sources.litmos.exceptions import redact

DEMO_MIN_SCALE = 200
LITMOS_REQUESTS_PER_MINUTE = 100  # the vendor's limit per API key

_CONFIG_EPILOG = """\
configuration (the dlt way: environment, .dlt/config.toml or .dlt/secrets.toml):
  SOURCES__LITMOS__API_KEY            Litmos API key (secret; never printed or stored)
  SOURCES__LITMOS__SOURCE             value of the required `source` parameter (<= 50 chars,
                                      default litmos-sync)
  SOURCES__LITMOS__BASE_URL           API base URL, default https://api.litmos.com/v1.svc
                                      (EU https://api.litmoseu.com/v1.svc, AU https://api.litmos.com.au/v1.svc)
  SOURCES__LITMOS__TENANTS__<NAME>__API_KEY (and __BASE_URL, __SOURCE): one of many orgs, loaded into
                                      <dataset>__<name>; see "Many orgs" in docs/configuration.md
  DESTINATION__DUCKDB__CREDENTIALS    DuckDB file, default litmos.duckdb in the working directory
  DESTINATION__POSTGRES__CREDENTIALS  Postgres DSN, e.g. postgresql://user:pass@host:5432/db
See docs/configuration.md and docs/troubleshooting.md."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (`litmos-sync: error: ...`) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{PROG}: error: {message}; see `{self.prog} --help`\n")
        sys.exit(EXIT_USAGE)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print nothing but errors (for cron: a good night sends no mail)")
    p.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="text (default; progress bars on a terminal) or json (one JSON object per line "
                        "on stderr, for schedulers)")


def _add_warehouse_options(p: argparse.ArgumentParser, dataset_help: str, output_format: bool = False) -> None:
    p.add_argument("--destination", default="duckdb", metavar="{duckdb,postgres}",
                   help="warehouse to use (default duckdb); credentials come from "
                        "DESTINATION__DUCKDB__CREDENTIALS / DESTINATION__POSTGRES__CREDENTIALS")
    p.add_argument("--dataset", default=config.DEFAULT_DATASET, metavar="NAME", help=dataset_help)
    if output_format:
        p.add_argument("--format", choices=("text", "json"), default="text", dest="output_format",
                       help="text table (default) or one JSON document")


def _command(sub: Any, name: str, summary: str, description: str, epilog: str | None = _CONFIG_EPILOG) -> Any:
    # Raw formatter (for the aligned env-var epilog) does not wrap descriptions itself.
    return sub.add_parser(name, help=summary, description=textwrap.fill(description, width=100), epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by the help test)."""
    parser = OneLineArgumentParser(
        prog=PROG,
        description=textwrap.fill("Incremental copy of a Litmos LMS organisation into DuckDB or Postgres, with "
                                  "dbt completion and compliance marts.", width=100),
        epilog=_CONFIG_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=OneLineArgumentParser)

    run = _command(
        sub, "run", "extract and load from the Litmos API, then build the dbt marts",
        "Extract every changed record since the last run (per resource cursor, 7-day windows, "
        "1-day lookback), merge it into the raw dataset, build the dbt marts, and record the run "
        "in <dataset>._litmos_sync_runs. Safe to rerun: an interrupted backfill resumes.",
        epilog=_CONFIG_EPILOG + "\n\nexit status: 0 ok, 1 run failed, 2 bad input/config, 3 loaded but records quarantined in "
               "<dataset>._litmos_rejects, 130 interrupted")
    for flag, metavar, text in (
        ("--resources", "a,b", "comma-separated resources (raw tables) to load, default all; e.g. "
                               "users,course_results. `litmos-sync run --resources help` lists them"),
        ("--start-date", "YYYY-MM-DD", "first day to load for resources without a cursor yet (default: the org's "
                                       "whole history); a later start leaves out older rows, is remembered, and "
                                       "the run says what it left out"),
        ("--history-start", "YYYY-MM-DD|auto", "where the org's history begins: the first sync (and the completion "
                                               "of a warehouse loaded with the old one-year default) walks back to "
                                               "it; auto (default) discovers it from the oldest record "
                                               "(SOURCES__LITMOS__HISTORY_START)"),
        ("--resync", "TABLE[,TABLE]|all", "re-read these tables' whole history and replace them, together with "
                                          "their cursors, once the new copy is complete (the old rows stay until "
                                          "then)"),
        ("--end-date", "YYYY-MM-DD", "last day (inclusive) of a bounded backfill; does not move the nightly "
                                     "cursors"),
        ("--as-of-date", "YYYY-MM-DD", "day the marts evaluate and the history snapshots (dbt var as_of_date; "
                                       "default today, UTC): rebuilds a missed night's day in place"),
        ("--tenant", "NAME[,NAME]", "run only these configured tenants ([sources.litmos.tenants.<name>]); "
                                    "default with tenants configured: all of them"),
    ):
        run.add_argument(flag, metavar=metavar, help=text)
    _add_warehouse_options(run, "raw dataset (schema) to load into (default litmos_raw; a tenant's is "
                                "<dataset>__<tenant>)")
    run.add_argument("--all-tenants", action="store_true",
                     help="run every configured tenant (the default when tenants are configured)")
    run.add_argument("--parallel", type=int, default=None, metavar="N",
                     help="tenants run at once, one process each (default: the number of tenants, at most 4); "
                          "each has its own API key and rate budget, loads into DuckDB take turns")
    run.add_argument("--state-dir", default=config.DEFAULT_STATE_DIR, metavar="DIR",
                     help="dlt pipeline state directory, holds the cursors (default ./state)")
    run.add_argument("--no-dbt", action="store_true", help="load only; do not build the dbt marts")
    run.add_argument("--requests-per-minute", type=int, default=config.DEFAULT_REQUESTS_PER_MINUTE,
                     metavar="N", help=f"client-side rate budget (default {config.DEFAULT_REQUESTS_PER_MINUTE}; Litmos allows 100 per key; "
                                       "0 = unlimited, only for the simulator)")
    run.add_argument("--lookback-days", type=int, default=1, metavar="N",
                     help="days re-read before each cursor, for rows Litmos commits late (default 1; the windows "
                          "start at midnight, so 0 still re-reads the cursor's own day)")
    run.add_argument("--collection-refresh-days", type=int, default=None, metavar="N",
                     help="read the collection family (collections, listings, their users and teams: no "
                          "delta endpoint, so 1 + collections + 2 x listings requests) only when its last full "
                          "read is N days old; default 0 = every run "
                          "(SOURCES__LITMOS__COLLECTION_REFRESH_DAYS). Ignored with --resources")
    _add_output_options(run)

    status = _command(
        sub, "status", "show each resource's cursor, last run and rows loaded",
        "Per resource: the stored cursor (the next run starts there minus the lookback), the "
        "last run's time, status and rows, and the rows now in the raw table. Reads the run "
        "history table and the pipeline state; makes no API request.")
    _add_warehouse_options(status, "raw dataset (schema) holding the run history (default litmos_raw)", True)
    status.add_argument("--state-dir", default=config.DEFAULT_STATE_DIR, metavar="DIR",
                        help="dlt pipeline state directory with the cursors (default ./state)")
    status.add_argument("--tenant", metavar="NAME[,NAME]",
                        help="only these tenants (default: every configured tenant, or the single org)")

    demo = _command(
        sub, "demo", "run everything against a built-in simulated Litmos org and write a report",
        "Starts the Litmos API simulator in this process (fixed seed, no rate limit), backfills ~90 days of a "
        "few hundred users into <output>/litmos_demo.duckdb, builds the dbt marts, prints rows per table, "
        "requests made and compliance by status, and writes <output>/report.html. Needs no API key and no "
        "network.", epilog=None)
    demo.add_argument("--output", default="demo_output", metavar="DIR",
                      help="directory for the DuckDB file and report.html (default ./demo_output)")
    demo.add_argument("--scale", type=int, default=300, metavar="USERS",
                      help=f"number of simulated users (default 300, at least {DEMO_MIN_SCALE})")
    demo.add_argument("--history-days", type=int, default=90, metavar="DAYS",
                      help="days of simulated history to backfill (default 90)")
    demo.add_argument("--seed", type=int, default=1, help="simulator seed (default 1; same seed, same data)")
    _add_output_options(demo)

    report = _command(
        sub, "report", "write the HTML completion/compliance report from a warehouse",
        "Reads the dbt marts (schema <prefix>_marts: litmos_marts for --dataset litmos_raw) and writes one self-contained HTML file (inline SVG charts, "
        "no network needed to view it): completion rate by course, compliance status by team, what expires in "
        "the next 30 days, overdue learners.")
    _add_warehouse_options(report, "raw dataset whose run history is summarised (default litmos_raw)")
    report.add_argument("--output", default="report.html", metavar="FILE",
                        help="HTML file to write (default ./report.html)")
    report.add_argument("--tenant", default=None, metavar="NAME",
                        help="only this tenant's figures (default: every tenant in the marts, labelled)")
    _add_output_options(report)
    tenants = _command(sub, "tenants", "list the configured tenants (Litmos orgs) with their last run",
                       "One line per tenant: its raw dataset, base URL and its last run's time, status and rows "
                       "(from <dataset>._litmos_sync_runs). Never shows an API key; makes no API request.")
    _add_warehouse_options(tenants, "base raw dataset; a tenant's is <dataset>__<tenant> (default litmos_raw)", True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `litmos-sync` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    secrets = _known_secrets()
    if args.command in ("run", "demo"):  # process-wide, before any thread allocates (see process_memory)
        from pipelines.process_memory import tune_process_memory  # noqa: PLC0415

        tune_process_memory()
    try:
        if args.command == "run":
            return _cmd_run(args, secrets, argv)
        commands = {"status": cli_tenants.cmd_status, "tenants": cli_tenants.cmd_tenants, "demo": _cmd_demo,
                    "report": _cmd_report}
        return commands[args.command](args)
    except ConfigError as exc:
        return fail(str(exc), secrets, EXIT_USAGE)
    except KeyboardInterrupt:
        return fail("interrupted; rerun the same command to resume", secrets, EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `litmos-sync status | head`: like other Unix tools, no message and exit 141 (128 + SIGPIPE);
        # stdout goes to /dev/null so the exit flush is quiet.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # pytest's capture has no real file descriptor
            pass
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the one-line contract holds for bugs too
        from pipelines.run_errors import describe_error  # noqa: PLC0415

        if os.environ.get("LITMOS_SYNC_DEBUG"):
            import traceback  # noqa: PLC0415

            sys.stderr.write(redact(traceback.format_exc(), secrets))
        return fail(describe_error(exc, secrets), secrets, EXIT_FAILED)


def _command_line(argv: Sequence[str] | None) -> str:
    """This run's command as the user can type it again (resume hints; secrets are never options)."""
    import shlex  # noqa: PLC0415

    return shlex.join([PROG, *(sys.argv[1:] if argv is None else argv)])


def _cmd_run(args: argparse.Namespace, secrets: list[str], argv: Sequence[str] | None = None) -> int:
    from pipelines import runner  # noqa: PLC0415
    from pipelines.logging_setup import configure_logging  # noqa: PLC0415
    from pipelines.progress import ProgressTracker, make_renderer  # noqa: PLC0415

    if args.resources and args.resources.strip() == "help":
        print("\n".join(config.known_resources()))
        return EXIT_OK
    # Validate everything before the first request (and before dlt is even imported).
    common = {k: getattr(args, k) for k in (
        "destination", "resources", "start_date", "end_date", "state_dir", "requests_per_minute",
        "collection_refresh_days", "lookback_days", "history_start", "resync", "as_of_date")}
    # dbt prints its own log to stdout: keep it for people at a terminal, not for cron or JSON logs.
    common.update(run_dbt=not args.no_dbt, command=_command_line(argv),
                  dbt_quiet=args.quiet or args.log_format == "json")
    runs = cli_tenants.plan_runs(args, common)  # None: no tenants configured, the single org as before
    if runs is not None and len(runs) > 1:
        secrets = list(dict.fromkeys(secrets + [s for o in runs for s in o.secrets]))
        return cli_tenants.run_many(args, runs, secrets)
    opts = runs[0] if runs else runner.prepare(**common, dataset=args.dataset)
    secrets = list(dict.fromkeys(secrets + opts.secrets))
    from pipelines.warehouse import check_destination  # noqa: PLC0415

    check_destination(opts.destination, opts.credentials)  # unwritable/locked/unreachable: exit 2 now
    log = configure_logging(args.log_format, args.quiet, secrets)
    if opts.requests_per_minute > LITMOS_REQUESTS_PER_MINUTE:
        log.warning("--requests-per-minute %d is above the %d requests per minute Litmos allows per key; "
                    "expect 503 responses and retries (use %d or less, default %d)", opts.requests_per_minute,
                    LITMOS_REQUESTS_PER_MINUTE, LITMOS_REQUESTS_PER_MINUTE, config.DEFAULT_REQUESTS_PER_MINUTE)
    # Off a terminal: totals once a minute, not a line per resource (the summary table lists them).
    renderer = make_renderer(args.quiet, args.log_format, emit=log.info, per_resource=False)
    progress = ProgressTracker(renderer, resources=opts.resources)
    failure: runner.RunFailed | None = None
    try:
        with interrupts():
            summary = runner.run_sync(options=opts, on_event=progress)
    except runner.RunFailed as exc:
        failure = exc
    finally:
        progress.close()  # final bars first, so the error stays the last line on the terminal
    if failure is not None:
        code = EXIT_INTERRUPTED if failure.interrupted else EXIT_USAGE if failure.usage else EXIT_FAILED
        return fail(str(failure), secrets, code)
    if not args.quiet and args.log_format == "text":
        print(format_run_summary(summary))
    elif not args.quiet and not summary.rejects:
        log.info("run finished", extra={"run_id": summary.run_id, "rows": summary.rows_total,
                                        "requests": summary.requests_total, "dbt": summary.dbt_status})
    if summary.rejects:
        from sources.litmos.rejects import EXIT_REJECTS  # noqa: PLC0415

        warning = next((n for n in summary.notes if "could not be decoded" in n), "records were quarantined")
        return fail(warning, secrets, EXIT_REJECTS)
    return EXIT_OK


def format_run_summary(summary: Any) -> str:
    """Human summary of a finished run (a RunSummary) for stdout."""
    lines = [f"run {summary.run_id}: {summary.status} -> {summary.destination} "
             f"{summary.credentials_display} dataset {summary.dataset}",
             f"{'resource':<26} {'windows':>9} {'pages':>6} {'requests':>9} {'rows':>9} {'span s':>8}"]
    for r in sorted(summary.resources, key=lambda r: r.resource):
        windows = f"{r.windows_done or 0}/{r.windows_total}" if r.windows_total else "-"  # "-": per parent row
        lines.append(f"{r.resource:<26} {windows:>9} {r.pages or 0:>6} {r.requests or 0:>9} "
                     f"{r.rows_loaded or 0:>9} {r.duration_s or 0:>8.1f}")
    lines.append("rows: records read, re-reads included (the merge keeps one per key); span s: wall time from "
                 "a resource's first to its last request (resources run in parallel, spans overlap)")
    wall = f" in {(summary.finished_at - summary.started_at).total_seconds():.1f}s wall" if summary.finished_at else ""
    lines.append(f"total: {summary.rows_total} rows, {summary.requests_total} requests, "
                 f"{summary.retries_total} retries{wall}; {summary.rate_wait_seconds:.1f}s waiting for the rate "
                 f"budget (summed over parallel requests); dbt: {summary.dbt_status}")
    lines.extend(summary.notes)
    return "\n".join(lines)


def _cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo import run_demo  # noqa: PLC0415
    from pipelines.logging_setup import configure_logging  # noqa: PLC0415

    # The simulator's generated team tree needs ~200 users (smaller orgs fail inside litmos_sim).
    if args.scale < DEMO_MIN_SCALE:
        raise ConfigError(f"--scale {args.scale} is too small; use {DEMO_MIN_SCALE} or more simulated users")
    if args.history_days < 1:
        raise ConfigError(f"--history-days {args.history_days} must be at least 1, e.g. --history-days 90")
    log = configure_logging(args.log_format, args.quiet)
    result = run_demo(output_dir=args.output, scale=args.scale, history_days=args.history_days,
                      seed=args.seed, quiet=args.quiet, log_format=args.log_format, log=log)
    if not args.quiet:
        print(result.summary_text)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from pipelines.logging_setup import configure_logging  # noqa: PLC0415
    from pipelines.report import write_report  # noqa: PLC0415

    credentials = cli_tenants.warehouse_credentials(args)
    log = configure_logging(args.log_format, args.quiet)
    path = write_report(args.destination, credentials, args.output, dataset=args.dataset, tenant=args.tenant)
    if not args.quiet:
        log.info("report written to %s", path)
    return EXIT_OK


def _known_secrets() -> list[str]:
    # The env var is the common case; values from secrets.toml are added once resolved (run).
    from pipelines.tenants import env_secrets  # noqa: PLC0415

    return [v for v in (os.environ.get("SOURCES__LITMOS__API_KEY"), *env_secrets()) if v]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("litmos-sync")
    except PackageNotFoundError:  # pragma: no cover
        return "0.1.0"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
