"""The sync core: run the Litmos source into a warehouse in committed batches of windows.

``sync()`` is the library entry point the CLI and runner call. It resolves configuration the dlt way,
finishes any load a killed run left pending, asks the server for its clock, plans each resource's windows
from its stored cursor, and runs ``pipeline.run`` once per batch so a batch's rows and the cursors it
moves are committed together. Fetching of the next batch overlaps the loading of the current one.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines import config
from pipelines.dlt_defaults import use_project_defaults
from pipelines.lock import holds_pipeline_lock
from pipelines.state_hygiene import finish_pending, prune_loaded_packages, verify_committed
from sources.litmos import SOURCE_NAME, batch_source, make_client, open_session, probe_server_clock
from sources.litmos.exceptions import LitmosConfigError, LitmosError
from sources.litmos.budget import DEFAULT_REQUESTS_PER_MINUTE
from sources.litmos.events import BatchCommitted
from sources.litmos.session import (STATE_COVERED, STATE_CURSORS, STATE_HISTORY_START, STATE_RESYNC, WHOLE_FEED,
                                    cursors_from_state, select_resources, session_state)
from sources.litmos.settings import ENDPOINTS
from sources.litmos.windows import floor_day, parse_user_date

log = logging.getLogger(__name__)

DEFAULT_DUCKDB_FILE = "litmos.duckdb"
# Tuning knobs read from dlt config (sources.litmos.<name>) when set; these are the defaults.
TUNING_DEFAULTS = {"max_workers": 8, "windows_per_batch": 8, "max_retries": 6, "backoff_base": 1.0}


@dataclass
class ResourceStats:
    """What one resource did in a run."""

    windows_total: int = 0
    windows_done: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    rows: int = 0
    duration_s: float = 0.0
    cursor_before: datetime | None = None
    cursor_after: datetime | None = None
    skipped: bool = False  # a collection-family table not due for its full read (collection_refresh_days)


class _Auto:
    def __repr__(self) -> str:
        return "auto"


AUTO: Any = _Auto()
"""``history_start = "auto"``: discover the bound, forgetting a start chosen earlier."""


def parse_history_start(value: Any) -> Any:
    """``YYYY-MM-DD`` -> UTC datetime, ``auto`` -> AUTO, None/empty -> None.

    Raises:
        LitmosConfigError: Anything else.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        return AUTO
    try:
        return parse_user_date(value, "history_start")
    except LitmosConfigError:
        raise LitmosConfigError(f"bad history_start {value!r}: use a date like 2015-01-01 (YYYY-MM-DD) or 'auto' "
                                "(--history-start, SOURCES__LITMOS__HISTORY_START)") from None


def select_resync(value: list[str] | str | None, tables: list[str]) -> list[str]:
    """The tables ``--resync`` names (``all``: every dated one selected), validated.

    Raises:
        LitmosConfigError: An unknown table, or one without dates (read in full every run anyway).
    """
    if not value:
        return []
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value) if n and n.strip()]
    dated = [t for t in tables if ENDPOINTS[t].kind in ("delta", "since")]
    if names == ["all"]:
        return dated
    if "module_details" in names:  # its ids come from the modules pages: re-reading modules reads them
        names = [n for n in names if n != "module_details"] + (["modules"] if "modules" not in names else [])
    unknown = [n for n in names if n not in ENDPOINTS]
    if unknown:
        raise LitmosConfigError(f"unknown resource {', '.join(map(repr, unknown))} in --resync; choose from: "
                                f"all, {', '.join(t for t in ENDPOINTS if ENDPOINTS[t].kind in ('delta', 'since'))}")
    undated = [n for n in names if ENDPOINTS[n].kind not in ("delta", "since")]
    if undated:
        raise LitmosConfigError(f"--resync {', '.join(undated)}: these tables are read in full on every run "
                                "(they have no dates); nothing to re-sync")
    missing = [n for n in names if n not in tables]
    if missing:
        raise LitmosConfigError(f"--resync {', '.join(missing)}: not among --resources; add them there too")
    return [t for t in tables if t in names]


@dataclass
class SyncResult:
    """Totals of one run; ``resources`` is keyed by table name."""

    started_at: datetime
    finished_at: datetime
    server_now: datetime
    requests_total: int
    retries_total: int
    rate_wait_seconds: float
    resources: dict[str, ResourceStats] = field(default_factory=dict)
    history: str | None = None  # what the history walk read, e.g. "history read back to 2017-03-04"
    notes: list[str] = field(default_factory=list)  # one-line warnings the summary repeats
    history_estimate: int = 0  # requests the history walk announced before it started
    history_requests: int = 0  # requests it made
    rejects: int = 0  # records that could not be decoded, kept raw in _litmos_rejects (exit 3)

    @property
    def rows_total(self) -> int:
        return sum(r.rows for r in self.resources.values())


def _serialised(on_event: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
    """Wraps the user's callback so it is never called from two threads at once nor breaks a run."""
    if on_event is None:
        return None
    lock = threading.Lock()

    def emit(event: Any) -> None:
        with lock:
            try:
                on_event(event)
            except Exception:  # a progress bar must never break the sync
                log.exception("on_event handler failed for %r", type(event).__name__)

    return emit


def _config(key: str, default: Any) -> Any:
    value = dlt.config.get(f"sources.litmos.{key}")
    if value is None:
        return default
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        raise LitmosConfigError(f"bad sources.litmos.{key} {value!r}: expected a {type(default).__name__}") from None


def _raw_config(key: str, default: Any) -> Any:
    """``sources.litmos.<key>`` as configured (text from the environment), or ``default``."""
    value = dlt.config.get(f"sources.litmos.{key}")
    return default if value is None else value


def _destination(destination: Any, credentials: Any) -> Any:
    if not isinstance(destination, str):
        return destination  # a dlt destination object configured by the caller
    if destination == "duckdb":
        credentials = credentials or dlt.secrets.get("destination.duckdb.credentials") or os.path.abspath(
            DEFAULT_DUCKDB_FILE)
        if isinstance(credentials, str):
            # DuckDB runs inside this process: cap its buffer pool (it spills to <file>.tmp beyond it), or
            # the merge of every batch grows the process with the warehouse (sources.litmos.duckdb_memory_limit).
            # The cap is one pool for the whole database, and part of what a running statement holds cannot
            # spill: per DuckDB thread, the row group it is appending (122,880 rows of every column) and its
            # share of the merge's dedup window (ROW_NUMBER), which grows with the batch. dlt runs up to 20
            # load jobs at once on that one pool: in a first sync, the loads and merges of the wide tables
            # (users: 55 text columns) together needed more than 100MB and failed with "failed to pin
            # block", retry after retry. So load jobs run one at a time, and one thread per statement
            # (sources.litmos.duckdb_threads) about halves what a merge needs: at 100MB a batch of 3.2M new
            # users, or of 1.7M course results replacing as many stored ones, then merges (with 2 threads,
            # 1.6M new users did not).
            from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials  # noqa: PLC0415

            credentials = DuckDbCredentials(credentials)
            credentials.global_config = {"memory_limit": str(_config("duckdb_memory_limit", "100MB")),
                                         "threads": _config("duckdb_threads", 1)}
            return dlt.destinations.duckdb(credentials=credentials, max_parallel_load_jobs=1)
        return dlt.destinations.duckdb(credentials=credentials)
    if destination == "postgres":
        credentials = credentials or dlt.secrets.get("destination.postgres.credentials")
        if not credentials:
            raise LitmosConfigError(
                "no Postgres DSN: set DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:pass@host:5432/db"
            )
        return dlt.destinations.postgres(credentials=_pg_credentials(credentials))
    raise LitmosConfigError(f"bad destination {destination!r}: use 'duckdb' or 'postgres'")


def _pg_credentials(credentials: Any) -> Any:
    """Accepts DSNs without a password (trust/peer auth), which dlt would otherwise ask for."""
    if not isinstance(credentials, str):
        return credentials
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials  # noqa: PLC0415

    parsed = PostgresCredentials()
    parsed.parse_native_representation(credentials)
    if parsed.password is None:
        parsed.password = ""
    parsed.resolve()
    return parsed


def _unwrap(exc: BaseException) -> LitmosError | None:
    """Finds the LitmosError dlt wrapped (PipelineStepFailed -> ResourceExtractionError -> ours)."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, LitmosError):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "exception", None)])
    return None


def _run(pipeline: dlt.Pipeline, data: Any = None) -> Any:
    try:
        info = pipeline.run(data) if data is not None else pipeline.run()
    except PipelineStepFailed as exc:
        inner = _unwrap(exc)
        if inner is not None:
            raise type(inner)(str(inner)) from None
        raise
    return info


def _make_pipeline(pipeline_name: str, destination: Any, dataset: str, state_dir: str) -> dlt.Pipeline:
    use_project_defaults()
    os.makedirs(state_dir, exist_ok=True)
    return dlt.pipeline(pipeline_name=pipeline_name, destination=destination, dataset_name=dataset,
                        pipelines_dir=os.path.abspath(state_dir), progress=None)


def read_cursors(state_dir: str = "state", pipeline_name: str = "litmos") -> dict[str, datetime | None]:
    """Returns each resource's stored cursor (None = never loaded or full refresh) from local state."""
    source_state: dict = {}
    if os.path.isdir(os.path.join(state_dir, pipeline_name)):  # attach would create missing dirs
        try:
            pipeline = dlt.attach(pipeline_name=pipeline_name, pipelines_dir=os.path.abspath(state_dir))
            source_state = pipeline.state.get("sources", {}).get(SOURCE_NAME, {})
        except Exception:  # an empty or foreign directory: no cursors
            source_state = {}
    return cursors_from_state(source_state)


@holds_pipeline_lock
def sync(
    *,
    destination: Any = "duckdb",
    credentials: Any = None,
    dataset: str = "litmos_raw",
    resources: list[str] | str | None = None,
    start_date: Any = None,
    end_date: Any = None,
    lookback_days: float = 1,
    state_dir: str = "state",
    pipeline_name: str = "litmos",
    api_key: str | None = None,
    base_url: str | None = None,
    source_name: str | None = None,
    response_format: str = "xml",
    auth_in_query: bool = False,
    requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE,
    on_event: Callable[[Any], None] | None = None,
    collection_refresh_days: int | None = None,
    history_start: Any = None,
    resync: list[str] | str | None = None,
) -> SyncResult:
    """Copies the selected Litmos resources into the warehouse, incrementally, in committed batches.

    Args:
        destination: ``duckdb`` (file ``litmos.duckdb`` in the cwd by default), ``postgres`` or a dlt
            destination object.
        credentials: DuckDB file path or Postgres DSN; None = ``DESTINATION__<NAME>__CREDENTIALS``.
        dataset: Warehouse schema for the raw tables.
        resources: Table names (list or comma-separated); None = all.
        start_date: ``YYYY-MM-DD`` start for resources without a cursor (default one year back); with
            ``end_date``, the start of a bounded backfill.
        end_date: Inclusive last day of a bounded backfill that does not move the nightly cursors.
        lookback_days: Days re-read before each cursor (late-committed rows).
        state_dir: dlt pipelines dir holding the pipeline state (cursors).
        pipeline_name: dlt pipeline name.
        api_key: Litmos key; None = ``SOURCES__LITMOS__API_KEY`` / ``.dlt/secrets.toml``.
        base_url: API root; None = ``SOURCES__LITMOS__BASE_URL`` or the US host.
        source_name: ``source`` query parameter; None = ``SOURCES__LITMOS__SOURCE`` or ``litmos-sync``.
        response_format: ``xml`` or ``json``.
        auth_in_query: Key in the query string instead of the header (old tenants).
        requests_per_minute: Shared rate budget; 0 = unlimited.
        on_event: Optional callback receiving ``sources.litmos.events`` dataclasses (serialised).
        collection_refresh_days: Read the collection family (no delta endpoint: 1 + C + 2L requests)
            every run (0) or when its last full read is this many days old; None =
            ``SOURCES__LITMOS__COLLECTION_REFRESH_DAYS`` or 0. Ignored when ``resources`` is given.
        history_start: Where the org's history begins (``YYYY-MM-DD``), or ``auto`` to discover it
            (pipelines/history.py); None = ``SOURCES__LITMOS__HISTORY_START``, else what an earlier
            run chose (``--start-date`` of a first sync), else discovered.
        resync: Tables (list, comma-separated or ``all``) to re-read over their whole history and
            replace, atomically with their cursors, once the new copy is complete.

    Returns:
        The run's totals and per-resource statistics.

    Raises:
        LitmosError: A one-line, key-free error; batches committed before it stay loaded.
    """
    started_at = datetime.now(timezone.utc)
    # Validate what needs no network first, so bad input fails fast and touches nothing.
    tables = select_resources(resources)
    api_key = api_key or dlt.secrets.get("sources.litmos.api_key")
    base_url = base_url or dlt.config.get("sources.litmos.base_url")
    source_name = source_name or dlt.config.get("sources.litmos.source")
    tuning = {k: _config(k, v) for k, v in TUNING_DEFAULTS.items()}
    emit = _serialised(on_event)
    client = make_client(api_key, base_url, source_name, response_format=response_format,
                         auth_in_query=auth_in_query, requests_per_minute=requests_per_minute,
                         max_workers=tuning["max_workers"], max_retries=tuning["max_retries"],
                         backoff_base=tuning["backoff_base"], on_event=emit)
    start, end = parse_user_date(start_date, "start_date"), parse_user_date(end_date, "end_date")
    if start and end and end < start:
        raise LitmosConfigError(f"bad end_date {end:%Y-%m-%d}: it is before the start date {start:%Y-%m-%d}")
    if lookback_days is None or lookback_days < 0:
        raise LitmosConfigError(f"bad lookback_days {lookback_days!r}: use 0 or more days")
    refresh_days = _refresh_days(collection_refresh_days if collection_refresh_days is not None
                                 else _raw_config("collection_refresh_days", 0))
    if resources:  # named explicitly: read them now
        refresh_days = 0
    store_login_keys = _flag(_raw_config("store_login_keys", False), "store_login_keys")
    history = parse_history_start(history_start if history_start is not None
                                  else _raw_config("history_start", None))
    resync = select_resync(resync, tables)
    if resync and end is not None:
        _refuse_resync_backfill()
    dest = _destination(destination, credentials)
    # Ask the server for its clock (and check key and host) before the state dir is touched at all.
    server_now, clock_trusted = probe_server_clock(client)
    check_dates(server_now, start, end, history)
    pipeline = _make_pipeline(pipeline_name, dest, dataset, state_dir)

    if pipeline.has_pending_data:
        # A killed run extracted a batch (rows + cursors) but did not load it: finish that first.
        log.info("loading the batch a previous run left pending")
        finish_pending(pipeline)  # not pipeline.run(): see pipelines.state_hygiene.finish_pending
    pipeline.sync_destination()  # restores state from the warehouse when the state dir was lost
    runs = _Runs(client, tables)
    _finish_resyncs(pipeline)
    state = _source_state(pipeline)
    planned = session_state(state)
    first_sync = not any(planned["cursors"].get(t) for t in tables)
    chosen = _history_choice(history, start, end, state, first_sync)
    resync_plan = _resync_plan(pipeline, state, resync, tables, chosen, server_now)
    first_start = floor_day(server_now) - timedelta(days=RECENT_DAYS)
    if isinstance(chosen, datetime):
        first_start = max(first_start, chosen)
    _refuse_cursors_ahead(planned["cursors"], server_now, resync_plan)
    since_whole = _feeds_to_complete(planned, tables, chosen)
    clock = {"clock_trusted": clock_trusted,
             "newest_seen": max((c for c in planned["cursors"].values() if c), default=None)}
    if first_sync and start is None and end is None:
        log.info("first sync: reading the last %d days first, then the org's history back to %s",
                 RECENT_DAYS, f"{chosen:%Y-%m-%d} (history_start)" if chosen else "its first record")
    choice_text = None if chosen is _UNSET else (f"{chosen:%Y-%m-%d}" if chosen else "")
    session = open_session(client, resources=tables, start_date=start_date, end_date=end_date,
                           lookback_days=lookback_days, max_workers=tuning["max_workers"],
                           windows_per_batch=tuning["windows_per_batch"], server_now=server_now, emit=emit,
                           collection_refresh_days=refresh_days, store_login_keys=store_login_keys,
                           first_start=first_start, resync=resync_plan, history_choice=choice_text,
                           since_whole=since_whole, **clock, **planned)
    runs.run(pipeline, session, emit)
    _finish_resyncs(pipeline)
    if end is None:
        _walk_history(pipeline, client, runs, tables, chosen, server_now, tuning, emit, store_login_keys, clock)
    if runs.rejected:
        from sources.litmos.rejects import rejects_warning  # noqa: PLC0415

        runs.notes.append(rejects_warning(runs.rejected, dataset))
        log.warning(runs.notes[-1])
    if start is not None and end is None and first_sync:
        note = partial_history_note(pipeline, start)
        if note:
            log.warning(note)
            runs.notes.append(note)

    after = cursors_from_state(_source_state(pipeline))
    counters = client.counters
    stats: dict[str, ResourceStats] = {}
    for table in tables:
        c = runs.counter(table)
        stats[table] = ResourceStats(
            windows_total=c.windows_total, windows_done=c.windows_done, pages=c.pages,
            requests=counters.requests.get(table, 0), retries=counters.retries.get(table, 0),
            rows=c.rows, duration_s=round(c.duration_s, 3), cursor_before=runs.cursors_before.get(table),
            cursor_after=after.get(table), skipped=table in runs.skipped,
        )
    return SyncResult(started_at=started_at, finished_at=datetime.now(timezone.utc),
                      server_now=server_now, requests_total=counters.requests_total,
                      retries_total=counters.retries_total,
                      rate_wait_seconds=round(client.limiter.waited_s, 3), resources=stats,
                      history=runs.history_summary, notes=runs.notes,
                      history_estimate=runs.history_estimate, history_requests=runs.history_requests,
                      rejects=len(runs.rejected))


# Days a first sync reads forwards before it walks the history back: one batch of 7-day windows, so
# the nightly cursor is committed first and the discovered bound comes from the org's current records.
RECENT_DAYS = 56
_UNSET: Any = object()
# Most history windows are empty (one request, no row), so a history batch holds this many times the
# nightly's windows: a dlt load per 8 weeks of empty history would cost more than its requests.
HISTORY_BATCH_FACTOR = 4


def _source_state(pipeline: dlt.Pipeline) -> dict[str, Any]:
    return pipeline.state.get("sources", {}).get(SOURCE_NAME, {})


def check_dates(server_now: datetime, start: datetime | None, end: datetime | None,
                history: datetime | None) -> None:
    """Refuses dates after the server's today (nothing can have changed then) before any data request.

    Raises:
        LitmosConfigError: A future ``start_date``/``end_date``/``history_start``, or a
            ``history_start`` after the start date.
    """
    today = floor_day(server_now)
    history = history if isinstance(history, datetime) else None  # AUTO: nothing to check
    for name, value in (("--start-date", start), ("--end-date", end), ("history_start", history)):
        if value is not None and floor_day(value) > today:
            raise LitmosConfigError(
                f"bad {name} {value:%Y-%m-%d}: it is after the server's today ({today:%Y-%m-%d}); "
                "use a past date")
    if history is not None and start is not None and floor_day(history) > floor_day(start):
        raise LitmosConfigError(
            f"bad history_start {history:%Y-%m-%d}: it is after the start date {start:%Y-%m-%d}; "
            "the history starts at or before it")


def _history_choice(history: datetime | None, start: datetime | None, end: datetime | None,
                    state: dict[str, Any], first_sync: bool) -> Any:
    """The history start this run walks to: a datetime (chosen), None (discover it) or _UNSET (no walk:
    a bounded backfill)."""
    if end is not None:
        return _UNSET
    if history is not None:
        return None if history is AUTO else history
    if start is not None and first_sync:
        return floor_day(start)  # partial history, chosen: remembered for the next runs
    stored = state.get(STATE_HISTORY_START)
    return parse_user_date(stored, "history_start") if stored else None


def _bound(pipeline: dlt.Pipeline, chosen: Any, server_now: datetime) -> datetime:
    if chosen is not None and chosen is not _UNSET:
        return floor_day(chosen)
    from pipelines.history import discovered_bound, earliest_created  # noqa: PLC0415

    return discovered_bound(earliest_created(pipeline), server_now)


def _resync_plan(pipeline: dlt.Pipeline, state: dict[str, Any], resync: list[str] | None, tables: list[str],
                 chosen: Any, server_now: datetime) -> dict[str, dict[str, Any]]:
    """The re-syncs this run carries on: those in progress, plus the tables ``resync`` names."""
    from pipelines.history import clear_shadow, new_resync_entry  # noqa: PLC0415

    active = {t: dict(e) for t, e in (state.get(STATE_RESYNC) or {}).items()
              if not e.get("done") and t in tables}
    if chosen is _UNSET:
        return active if not resync else _refuse_resync_backfill()
    for table in resync or []:
        if table in active:
            continue  # interrupted: the same command carries on where it stopped
        clear_shadow(pipeline, table)
        active[table] = new_resync_entry(_bound(pipeline, chosen, server_now))
    return active


# How far a stored cursor may lie after the server's now before it is refused: the windows end at the
# next midnight, so a cursor is at most a day ahead of a server whose clock the run trusted.
CURSOR_TOLERANCE = timedelta(days=2)


def _refuse_cursors_ahead(cursors: dict[str, datetime | None], server_now: datetime,
                          resyncing: dict[str, Any]) -> None:
    """A cursor later than the server's now was written by a run with a wrong clock: trusting it would
    skip every change until that date, silently."""
    ahead = sorted(t for t, c in cursors.items() if c and c > server_now + CURSOR_TOLERANCE and t not in resyncing)
    if ahead:
        raise LitmosConfigError(
            f"the stored cursor of {', '.join(ahead)} ({max(cursors[t] for t in ahead):%Y-%m-%d}) is after the "
            f"server's now ({server_now:%Y-%m-%d}): a run with a wrong clock wrote it; rerun with "
            f"`--resync {','.join(ahead)}` to read those tables again (docs/troubleshooting.md)")


def _feeds_to_complete(planned: dict[str, Any], tables: list[str], chosen: Any) -> set[str]:
    """The ``since`` feeds (achievements) this run reads whole: they have a cursor but were read from a
    later date than the history start (the old one-year default, or a partial history being completed).
    One chain of pages: the feed takes no ``to``, so nothing narrower exists."""
    if chosen is _UNSET:
        return set()
    out = set()
    for table in tables:
        if ENDPOINTS[table].kind != "since" or planned["cursors"].get(table) is None:
            continue
        covered = planned["covered"].get(table)
        held = datetime.fromisoformat(covered) if covered else None
        if held is None or (chosen is None and held > WHOLE_FEED) or (isinstance(chosen, datetime) and held > chosen):
            out.add(table)
    return out


def _refuse_resync_backfill() -> Any:
    raise LitmosConfigError("--resync cannot be combined with --end-date; run it without --end-date")


def _finish_resyncs(pipeline: dlt.Pipeline) -> None:
    """Swaps in every re-synced copy whose last batch is committed (once, even after a kill)."""
    entries = (_source_state(pipeline).get(STATE_RESYNC) or {})
    done = {t: e for t, e in entries.items() if e.get("done")}
    if not done:
        return
    from pipelines.history import swap_in  # noqa: PLC0415

    for table, entry in done.items():
        swap_in(pipeline, table, entry["id"])


def _walk_history(pipeline: dlt.Pipeline, client: Any, runs: "_Runs", tables: list[str], chosen: Any,
                  server_now: datetime, tuning: dict[str, Any], emit: Any, store_login_keys: bool,
                  clock: dict[str, Any]) -> None:
    """Walks each delta table's history back from what it holds down to the bound, pass after pass
    while the discovered bound moves back (see pipelines/history.py for the rule)."""
    from pipelines.history import (  # noqa: PLC0415
        DANGLING_STEP_DAYS, HISTORY_FLOOR, dangling_references, held_since)

    delta = [t for t in tables if ENDPOINTS[t].kind == "delta"]
    extra_days = 0
    dangling_before: int | None = None
    for _ in range(200):  # each pass moves the bound back; the floor ends it in any case
        state = _source_state(pipeline)
        resyncing = set(state.get(STATE_RESYNC) or {})
        bound = _bound(pipeline, chosen, server_now)
        if chosen is None and extra_days:
            bound = max(HISTORY_FLOOR, bound - timedelta(days=extra_days))
        todo = _history_todo(pipeline, state, [t for t in delta if t not in resyncing], bound, held_since)
        if not todo and chosen is None:
            dangling = dangling_references(pipeline)
            if dangling and (dangling_before is None or dangling < dangling_before) and bound > HISTORY_FLOOR:
                log.info("history: %d rows reference parents not loaded yet; walking %d days further back",
                         dangling, DANGLING_STEP_DAYS)
                dangling_before, extra_days = dangling, extra_days + DANGLING_STEP_DAYS
                continue
            if dangling:
                runs.notes.append(f"{dangling} rows reference parents the API did not return at any date back to "
                                  f"{bound:%Y-%m-%d} (deleted in Litmos?); the marts flag them")
        if not todo:
            break
        planned = session_state(state)
        session = open_session(client, resources=[t for t in tables if t in todo or t == "module_details"],
                               max_workers=tuning["max_workers"],
                               windows_per_batch=tuning["windows_per_batch"] * HISTORY_BATCH_FACTOR,
                               server_now=server_now, emit=emit, store_login_keys=store_login_keys,
                               history=todo, **clock, **{k: v for k, v in planned.items() if k != "cursors"},
                               cursors=planned["cursors"])
        runs.announce_history(session, bound)
        before = client.counters.requests_total
        runs.run(pipeline, session, emit)
        runs.history_requests += client.counters.requests_total - before
        runs.history_summary = f"history read back to {bound:%Y-%m-%d}"
        if chosen is not None:
            break


def _history_todo(pipeline: dlt.Pipeline, state: dict[str, Any], delta: list[str], bound: datetime,
                  held_since: Callable[..., dict[str, datetime | None]]) -> dict[str, tuple[datetime, datetime]]:
    """Per delta table with a cursor, the range ``(bound, covered_from)`` still to walk."""
    cursors = cursors_from_state(state)
    covered = dict(state.get(STATE_COVERED) or {})
    unknown = [t for t in delta if cursors.get(t) and not covered.get(t)]
    derived = held_since(pipeline, unknown) if unknown else {}
    todo: dict[str, tuple[datetime, datetime]] = {}
    for table in delta:
        cursor = cursors.get(table)
        if cursor is None:
            continue
        top = datetime.fromisoformat(covered[table]) if covered.get(table) else (
            derived.get(table) or floor_day(cursor))
        # A window starting on ``top``'s day was already read: an old-default table's first day is
        # re-read (one window), the walk itself never re-reads.
        if not covered.get(table):
            top = floor_day(top) + timedelta(days=1)
        if floor_day(top) > bound:
            todo[table] = (bound, top)
    return todo


def partial_history_note(pipeline: dlt.Pipeline, start: datetime) -> str | None:
    """One line on what a first sync with a later ``--start-date`` left out."""
    from pipelines.history import dangling_references, earliest_created  # noqa: PLC0415

    earliest = earliest_created(pipeline)
    dangling = dangling_references(pipeline)
    if earliest is None or (floor_day(earliest) >= floor_day(start) and not dangling):
        return None
    return (f"partial history: --start-date {start:%Y-%m-%d} leaves out every row last changed before it (the org "
            f"has records created since {earliest:%Y-%m-%d}; {dangling} loaded rows reference parents not loaded); "
            "later runs keep this start; `litmos-sync run --history-start auto` loads the rest")


class _Runs:
    """Runs sessions in committed batches and keeps what the run's summary needs across them."""

    def __init__(self, client: Any, tables: list[str]) -> None:
        self.client = client
        self.tables = tables
        self.counters: dict[str, Any] = {}
        self.cursors_before: dict[str, datetime | None] = {}
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.history_summary: str | None = None
        self.rejected: list[Any] = []  # records quarantined in _litmos_rejects
        self.history_estimate = 0  # requests the walk's passes said they would make
        self.history_requests = 0  # requests they made

    def run(self, pipeline: dlt.Pipeline, session: Any, emit: Any) -> None:
        for table, before in session.cursors_before.items():
            self.cursors_before.setdefault(table, before)
        if not self.counters:
            self.skipped = list(session.skipped)
        failed = True
        try:
            pending = session.submit(0)
            for index in range(session.batches_total):
                work = pending
                if index + 1 < session.batches_total:
                    pending = session.submit(index + 1)  # fetch ahead while this batch loads
                _run(pipeline, batch_source(session, work))
                verify_committed(pipeline, batch=f"batch {index + 1} of {session.batches_total}")
                prune_loaded_packages(pipeline)  # load/loaded/ keeps the newest 2 packages' metadata
                if emit:
                    committed = cursors_from_state(_source_state(pipeline))
                    emit(BatchCommitted(index, session.batches_total, self._rows(session),
                                        {t: committed.get(t) for t in self.tables}))
                if session.history_mode:
                    self._history_progress(session, index)
            failed = False
        finally:
            session.close(cancel=failed)
            self._add(session)

    def announce_history(self, session: Any, bound: datetime) -> None:
        """Says what the history walk will cost before it starts (requests, and time at the budget)."""
        requests = sum(map(sum, (session.expected_pages.get(t, []) for t in session.windows)))
        rate = getattr(self.client.limiter, "rate", 0.0) or 0.0
        at = (f"~{_minutes(requests / rate)} at {rate * 60:.0f}/min" if rate > 0 else "no rate limit")
        oldest = min((w[-1].since for w in session.windows.values() if w), default=bound)
        log.info("history: ~%s requests back to %s, %s", f"{requests:,}", f"{oldest:%Y-%m-%d}", at)
        self.history_estimate += requests
        if not hasattr(self, "_walk_started"):
            self._walk_started = (time.monotonic(), self.client.counters.requests_total)

    def _history_progress(self, session: Any, index: int) -> None:
        """One line per committed batch of the walk: how far back, what is left, and when it ends at
        the pace measured so far."""
        began, base = self._walk_started
        done = self.client.counters.requests_total - base
        left = max(0, self.history_estimate - done)
        reached = min((w[min(len(w), (index + 1) * session.per_batch) - 1].since
                       for w in session.windows.values() if w), default=None)
        pace = done / max(time.monotonic() - began, 1e-6)
        eta = f", ETA ~{_minutes(left / pace)}" if pace > 0 and left else ""
        log.info("history: batch %d/%d committed, back to %s; ~%s requests left%s", index + 1,
                 session.batches_total, f"{reached:%Y-%m-%d}" if reached else "?", f"{left:,}", eta)

    def _rows(self, session: Any) -> int:
        return sum(c.rows for c in self.counters.values()) + sum(
            c.rows for c in session.fetcher.counters.values())

    def _add(self, session: Any) -> None:
        self.rejected.extend(session.rejected)
        for table, c in session.fetcher.counters.items():
            total = self.counters.setdefault(table, _Counter())
            total.windows_total += c.windows_total
            total.windows_done += c.windows_done
            total.pages += c.pages
            total.rows += c.rows
            total.duration_s += c.duration_s

    def counter(self, table: str) -> Any:
        return self.counters.get(table) or _Counter()


@dataclass
class _Counter:
    windows_total: int = 0
    windows_done: int = 0
    pages: int = 0
    rows: int = 0
    duration_s: float = 0.0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _flag(value: Any, name: str) -> bool:
    try:
        return config.parse_flag(value, name)
    except config.ConfigError as exc:
        raise LitmosConfigError(str(exc)) from None


def _refresh_days(value: Any) -> int:
    try:
        return config.parse_refresh_days(value)
    except config.ConfigError as exc:
        raise LitmosConfigError(str(exc)) from None


__all__ = ["sync", "read_cursors", "SyncResult", "ResourceStats", "STATE_CURSORS", "ENDPOINTS"]
