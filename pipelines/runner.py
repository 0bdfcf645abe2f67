"""`run_sync`: validate, extract+load with `pipelines.sync.sync`, build the marts, record the run history.

What `litmos-sync run`, the demo and the schedulers call. Every failure becomes a `RunFailed` with a
one-line, key-free message, and the run history is written whether the run succeeded or not.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

from pipelines import config, run_history
from pipelines import destination as dest
from pipelines.config import ConfigError
from pipelines.progress import ProgressTracker
from pipelines.run_errors import (RunFailed, describe_error, is_interrupt, is_resumable, is_usage_error,
                                  raise_if_interrupted)
from pipelines.warehouse import open_warehouse

log = logging.getLogger("litmos_sync")


@dataclass
class RunSummary:
    """What one `run_sync` call did (also what goes to the run history, one row per resource)."""

    run_id: str
    status: str
    destination: str
    dataset: str
    credentials_display: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    resources: list[run_history.ResourceRun] = field(default_factory=list)
    requests_total: int = 0
    retries_total: int = 0
    rate_wait_seconds: float = 0.0
    dbt_status: str = "skipped"
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # one-line warnings of the sync (e.g. partial history)
    rejects: int = 0  # records quarantined in _litmos_rejects: the run loaded the rest and exits 3
    tenant: str = config.DEFAULT_TENANT
    interrupted: bool = False  # a failed run: by Ctrl-C/SIGTERM (exit 130)
    usage: bool = False  # a failed run: bad input found once the server was known (exit 2)

    @property
    def rows_total(self) -> int:
        """Rows loaded over all resources in this run."""
        return sum(r.rows_loaded or 0 for r in self.resources)


@dataclass
class RunOptions:
    """Validated inputs of one run (built by `prepare`, so the CLI can fail before any request)."""

    destination: str
    credentials: str
    dataset: str
    resources: list[str] | None
    start_date: dt.date | None
    end_date: dt.date | None
    api: config.ApiSettings
    requests_per_minute: int
    state_dir: str = config.DEFAULT_STATE_DIR
    run_dbt: bool = True
    lookback_days: int = 1
    response_format: str = "xml"
    auth_in_query: bool = False
    pipeline_name: str = "litmos"
    dbt_quiet: bool = False
    collection_refresh_days: int | None = None  # None: SOURCES__LITMOS__COLLECTION_REFRESH_DAYS or 0
    history_start: str | None = None  # YYYY-MM-DD or "auto"; None: SOURCES__LITMOS__HISTORY_START, the stored choice
    resync: list[str] | None = None  # tables to re-read over their whole history ("all" expanded by the sync)
    command: str = "litmos-sync run"  # how this run was started: what a resume hint tells to rerun
    tenant: str = config.DEFAULT_TENANT
    base_dataset: str | None = None  # the dataset the tenants' datasets derive from (dbt's raw_schema)
    marts_tenants: list[tuple[str, str]] | None = None  # (tenant, dataset) the marts union; None = single org
    as_of_date: dt.date | None = None  # the day the marts evaluate and snapshot (dbt var as_of_date); None = today UTC

    @property
    def secrets(self) -> list[str]:
        """Strings that must never be printed: the API key and the Postgres password."""
        return [self.api.api_key, *dest.secrets(self.destination, self.credentials)]


def prepare(*, destination: str = "duckdb", dataset: str = config.DEFAULT_DATASET,
            resources: str | list[str] | None = None, start_date: str | dt.date | None = None,
            end_date: str | dt.date | None = None, credentials: str | None = None, api_key: str | None = None,
            base_url: str | None = None, source_name: str | None = None,
            requests_per_minute: int = config.DEFAULT_REQUESTS_PER_MINUTE, lookback_days: int = 1,
            collection_refresh_days: int | None = None, history_start: str | None = None,
            resync: str | list[str] | None = None, command: str | None = None,
            as_of_date: str | dt.date | None = None, **options: Any) -> RunOptions:
    """Validates every input and resolves config; raises `ConfigError` with a one-line fix on bad input.

    `options` are further `RunOptions` fields, taken as given (state_dir, run_dbt, response_format,
    auth_in_query, pipeline_name, dbt_quiet).
    """
    config.validate_destination(destination)
    config.validate_dataset(dataset)
    names = config.parse_resources(resources)
    start, end = config.parse_date(start_date, "--start-date"), config.parse_date(end_date, "--end-date")
    config.validate_window(start, end)
    as_of = config.parse_date(as_of_date, "--as-of-date")
    from pipelines.sync_options import parse_history_start  # noqa: PLC0415

    # Future dates are refused by the sync against the server's clock: the local one may be far off.
    history = parse_history_start(history_start)
    history = history.date() if isinstance(history, dt.datetime) else None
    if history is not None and start is not None and history > start:
        raise ConfigError(f"--history-start {history.isoformat()} is after --start-date {start.isoformat()}; "
                          "the history starts at or before the start date")
    resync_names = config.parse_resync(resync, end)
    if int(requests_per_minute) < 0:
        raise ConfigError(f"--requests-per-minute {requests_per_minute} is negative; use 1..100 (Litmos allows "
                          "100/min) or 0 for unlimited")
    if lookback_days < 0:
        raise ConfigError(f"--lookback-days {lookback_days} is negative; use 0 or more days (default 1)")
    if collection_refresh_days is not None and collection_refresh_days < 0:
        raise ConfigError(f"--collection-refresh-days {collection_refresh_days} is negative; use 0 (every run) "
                          "or a number of days, e.g. 7")
    api = config.resolve_api_settings(api_key, base_url, source_name)
    config.check_source_settings(api, history_start=history_start, collection_refresh_days=collection_refresh_days,
                                 response_format=options.get("response_format", "xml"))
    return RunOptions(destination=destination, credentials=credentials or config.resolve_credentials(destination),
                      dataset=dataset, resources=names, start_date=start, end_date=end, api=api,
                      requests_per_minute=int(requests_per_minute), lookback_days=lookback_days,
                      collection_refresh_days=collection_refresh_days,
                      history_start=history_start.strip() if isinstance(history_start, str) and history_start.strip()
                      else None, resync=resync_names, command=command or "litmos-sync run", as_of_date=as_of,
                      **options)


def run_sync(destination: str = "duckdb", dataset: str = config.DEFAULT_DATASET,
             resources: str | list[str] | None = None, start_date: str | dt.date | None = None,
             end_date: str | dt.date | None = None, state_dir: str = config.DEFAULT_STATE_DIR,
             run_dbt: bool = True, *, on_event: Callable[[Any], None] | None = None,
             options: RunOptions | None = None, **kwargs: Any) -> RunSummary:
    """Runs one sync and the dbt build under the pipeline's lock, records it, returns the summary.

    Args:
        on_event: Progress callback (receives the sync core's events).
        options: Pre-validated options from `prepare` (then the other arguments are ignored).
        **kwargs: `prepare`'s other arguments.

    Raises:
        ConfigError: Bad input, before any request (a second run of the pipeline too).
        RunFailed: The load or the dbt build failed; the history rows are written first.
    """
    opts = options or prepare(destination=destination, dataset=dataset, resources=resources,
                              start_date=start_date, end_date=end_date, state_dir=state_dir,
                              run_dbt=run_dbt, **kwargs)
    from pipelines.lock import pipeline_lock  # noqa: PLC0415

    with pipeline_lock(opts.state_dir, opts.pipeline_name, destination=opts.destination, dataset=opts.dataset):
        summary = load(opts, on_event)
        dbt_status, dbt_error = "skipped", None
        if summary.error is None and opts.run_dbt:
            dbt_status, dbt_error = build_marts_once(opts)
        return finish(summary, opts, dbt_status, dbt_error)


def load(opts: RunOptions, on_event: Callable[[Any], None] | None = None) -> RunSummary:
    """Extracts and loads one tenant (the caller holds its lock); never raises for a failed run: the
    summary's `error`, `interrupted` and `usage` say how it ended; :func:`finish` records it."""
    tracker = ProgressTracker(resources=opts.resources)

    def relay(event: Any) -> None:
        tracker(event)
        if on_event is not None:
            on_event(event)

    summary = RunSummary(run_id=uuid.uuid4().hex[:16], status="running", destination=opts.destination,
                         dataset=opts.dataset, credentials_display=dest.display(opts.destination, opts.credentials),
                         started_at=_utcnow(), tenant=opts.tenant)
    log.info("run %s started: %s -> %s/%s", summary.run_id, ",".join(opts.resources or ["all"]),
             opts.destination, opts.dataset)
    failure: BaseException | None = None
    result = None
    try:
        from pipelines.sync import sync  # noqa: PLC0415 - imports dlt; keep CLI validation fast

        result = sync(**{k: getattr(opts, k) for k in (
            "destination", "credentials", "dataset", "resources", "start_date", "end_date", "lookback_days",
            "state_dir", "pipeline_name", "response_format", "auth_in_query", "requests_per_minute",
            "collection_refresh_days", "history_start", "resync")}, on_event=relay, api_key=opts.api.api_key,
            base_url=opts.api.base_url, source_name=opts.api.source_name)
        raise_if_interrupted()  # a Ctrl-C Python dropped in a finaliser after the last batch
        relay({"event": "SyncFinished"})  # progress: every resource is read (before the dbt build)
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - every failure: one line + a history row
        failure = exc
    if failure is not None:
        summary.interrupted = is_interrupt(failure)
        if summary.interrupted:
            failure = RunFailed(f"interrupted; rerun `{opts.command}` to resume from the last committed batch")
        summary.error = describe_error(failure, opts.secrets)
        summary.usage = is_usage_error(failure)
        if not summary.usage and not summary.interrupted and is_resumable(failure):
            summary.error += f"; to resume: `{opts.command}`"
        if opts.tenant != config.DEFAULT_TENANT and "__TENANTS__" not in summary.error:  # the tenant's settings
            summary.error = summary.error.replace("SOURCES__LITMOS__", f"SOURCES__LITMOS__TENANTS__{opts.tenant.upper()}__")
    _fill(summary, opts, result, tracker)
    tracker.close()
    return summary


def finish(summary: RunSummary, opts: RunOptions, dbt_status: str = "skipped", dbt_error: str | None = None
           ) -> RunSummary:
    """Completes a loaded run with the dbt outcome and records it in `<dataset>._litmos_sync_runs`.

    Raises:
        RunFailed: The load or the dbt build failed (after the history rows are written).
    """
    summary.dbt_status = dbt_status
    if dbt_error is not None and summary.error is None:
        summary.error = dbt_error
    summary.finished_at = _utcnow()
    summary.status = "success" if summary.error is None else "failed"
    for row in summary.resources:
        row.dbt_status = summary.dbt_status
        row.finished_at = row.finished_at or summary.finished_at
        if summary.dbt_status == "failed":
            row.error = summary.error  # the load itself succeeded; the row says why the run did not
    _record(summary, opts)
    if summary.error is not None:
        raise RunFailed(summary.error, summary, interrupted=summary.interrupted, usage=summary.usage)
    log.info("run %s finished: %d records read (re-reads included; the merge keeps one row per key), "
             "%d requests", summary.run_id, summary.rows_total, summary.requests_total)
    return summary


def build_marts_once(opts: RunOptions) -> tuple[str, str | None]:
    """Builds the dbt marts over `opts.marts_tenants` (None: `opts.dataset` alone); returns
    (`success` | `failed`, the one-line error of a failed build)."""
    from pipelines import duckdb_lock  # noqa: PLC0415

    try:
        from pipelines.dbt_runner import build_marts  # noqa: PLC0415

        log.info("building dbt marts")
        tenants = existing_tenants(opts)
        extra: dict = {} if tenants is None else {"tenants": tenants}
        if opts.as_of_date is not None:  # else the dbt project's default: today (UTC)
            extra["vars"] = {"as_of_date": opts.as_of_date.isoformat()}
        lock = duckdb_lock.file_lock(opts.credentials) if opts.destination == "duckdb" else nullcontext()
        with lock:
            built = build_marts(opts.destination, opts.credentials, raw_schema=opts.base_dataset or opts.dataset,
                                quiet=opts.dbt_quiet, **extra)
        log.info("%s", built.summary())  # one line; dbt's full log is in dbt_models/logs/dbt.log
    except Exception as exc:  # noqa: BLE001
        reason = describe_error(exc, opts.secrets)
        return "failed", (f"the load succeeded but the dbt build failed: {reason}; fix it and rerun "
                          f"`{opts.command}` (the load resumes from its cursor)")
    return "success", None


def existing_tenants(opts: RunOptions) -> list[tuple[str, str]] | None:
    """The `(tenant, dataset)` of `opts.marts_tenants` whose dataset holds raw tables (None: single org);
    a tenant whose every run failed before its first batch is left out."""
    if opts.marts_tenants is None:
        return None
    from pipelines.warehouse import quote_literal  # noqa: PLC0415

    tables = ", ".join(quote_literal(t) for t in config.known_resources())
    with open_warehouse(opts.destination, opts.credentials) as wh:
        return [(name, dataset) for name, dataset in opts.marts_tenants if wh.query(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = "
            f"{quote_literal(dataset)} AND table_name IN ({tables})")[0]["n"]]


def _fill(summary: RunSummary, opts: RunOptions, result: Any, tracker: ProgressTracker) -> None:
    """Totals and history rows from the SyncResult or, when sync() raised, from the progress events."""
    common = {"start_date": opts.start_date, "end_date": opts.end_date, "destination": opts.destination}
    if result is not None:
        summary.requests_total, summary.retries_total = result.requests_total, result.retries_total
        summary.rate_wait_seconds, summary.rejects = result.rate_wait_seconds, result.rejects
        summary.notes = [n for n in [result.history, *result.notes] if n]
        summary.resources = [run_history.from_stats(
            summary.run_id, name, "skipped" if stats.skipped else "success", stats, started_at=result.started_at,
            finished_at=result.finished_at, **common) for name, stats in result.resources.items()]
        return
    states = tracker.resources
    names = list(states) or list(opts.resources or config.known_resources())
    summary.requests_total, summary.retries_total = (sum(s.requests for s in states.values()),
                                                     sum(s.retries for s in states.values()))
    summary.rate_wait_seconds = tracker.rate_wait_s
    any_started = any(s.status != "pending" for s in states.values())
    from pipelines.state_hygiene import rows_committed_since  # noqa: PLC0415

    # Rows the committed batches wrote, not the records counted on the wire: the pages of a batch that
    # was cut off (SIGTERM, an error) never reached the table ("rows last 166, rows total 39").
    committed = rows_committed_since(opts.destination, opts.credentials, opts.dataset, names, summary.started_at)
    for name in names:
        state = states.get(name)
        started = state is not None and state.status != "pending"
        # A resource whose windows were all fetched may still have been in the batch that did not
        # commit, so nothing of a failed run is "success". Failed before any resource began (bad key,
        # host down): the run failed for every resource; otherwise unstarted ones are "not_run".
        status = "failed" if started or not any_started else "not_run"
        summary.resources.append(run_history.from_stats(
            summary.run_id, name, status, state if started else None, started_at=summary.started_at,
            error=summary.error if status == "failed" else None, **common,
            rows_loaded=committed.get(name) if state is not None else None))


def _record(summary: RunSummary, opts: RunOptions) -> None:
    """Writes the run's history rows: in the run's kept turn on a DuckDB file (a tenant of a parallel run)
    with one INSERT through its open connection, else with dlt (pipelines.run_history)."""
    from pipelines import duckdb_lock  # noqa: PLC0415

    kept = duckdb_lock.kept_connection(opts.credentials) if opts.destination == "duckdb" else None
    if kept is not None:
        try:
            run_history.append(kept, opts.dataset, summary.resources)
            return
        except Exception as exc:  # noqa: BLE001 - a table of another layout: dlt's load adapts it
            log.debug("run history: one INSERT failed (%s); writing it with dlt", exc)
    try:
        run_history.record((opts.destination, opts.credentials), opts.dataset, summary.resources,
                           opts.state_dir, opts.pipeline_name)
    except Exception as exc:  # noqa: BLE001 - history must not hide the run's own outcome
        reason = describe_error(exc, opts.secrets)
        log.warning("could not write the run history to %s._litmos_sync_runs: %s", opts.dataset, reason)
        if summary.error is None:
            summary.error = f"the load succeeded but the run history could not be written: {reason}"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
