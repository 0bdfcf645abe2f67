"""The sync core: run the Litmos source into a warehouse in committed batches of windows.

``sync()`` is the library entry point the CLI and runner call. It validates its options once
(:mod:`pipelines.sync_options`), finishes any load a killed run left pending (``finish_pending``), asks
the server for its clock, plans each resource's windows from its stored cursor and runs them in
committed batches (:mod:`pipelines.batches`: one ``pipeline.run`` per batch, then
``verify_committed`` and ``prune_loaded_packages``), then walks the history back
(:mod:`pipelines.history_walk`).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import dlt

from pipelines import duckdb_lock
from pipelines import history_walk as walk
from pipelines.batches import Runs, serialised
from pipelines.destination import dlt_destination
from pipelines.dlt_defaults import use_project_defaults
from pipelines.lock import holds_pipeline_lock
from pipelines.state_hygiene import finish_pending, source_state
from pipelines.sync_options import check_dates, sync_options
from pipelines.tenants import tenant_of
from sources.litmos import (SOURCE_NAME, STATE_CURSORS, cursors_from_state, make_client, open_session, probe_server_clock,
                            session_state)
from sources.litmos.budget import DEFAULT_REQUESTS_PER_MINUTE
from sources.litmos.settings import ENDPOINTS
from sources.litmos.stats import ResourceStats
from sources.litmos.windows import floor_day

log = logging.getLogger(__name__)
STATE_FILE = dlt.Pipeline.STATE_FILE  # the pipeline's local state, in its working dir


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


def _make_pipeline(pipeline_name: str, destination: Any, dataset: str, state_dir: str) -> dlt.Pipeline:
    use_project_defaults()
    os.makedirs(state_dir, exist_ok=True)
    return dlt.pipeline(pipeline_name=pipeline_name, destination=destination, dataset_name=dataset,
                        pipelines_dir=os.path.abspath(state_dir), progress=None)


def read_cursors(state_dir: str = "state", pipeline_name: str = "litmos") -> dict[str, datetime | None]:
    """Returns each resource's stored cursor (None = never loaded or full refresh) from local state.

    Reads the pipeline's state file and nothing else, so it is safe while a run of the pipeline is in
    progress (`litmos-sync status`, a parallel run's tenants). Not ``dlt.attach``: on a working dir
    whose state file is not written yet (a first run starting) it falls back to creating the pipeline,
    which wipes that directory under the running sync.
    """
    from dlt.common.versioned_state import json_decode_state  # noqa: PLC0415

    try:
        with open(os.path.join(state_dir, pipeline_name, STATE_FILE), encoding="utf-8") as fh:
            state = json_decode_state(fh.read())
    except (OSError, ValueError):  # no pipeline (yet), or not one of ours: no cursors
        state = {}
    return cursors_from_state(state.get("sources", {}).get(SOURCE_NAME, {}) if isinstance(state, dict) else {})


@holds_pipeline_lock
def sync(
    *,
    destination: Any = "duckdb",
    credentials: Any = None,
    dataset: str = "litmos_raw",
    resources: list[str] | str | None = None,
    start_date: date | str | None = None,
    end_date: date | str | None = None,
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
    history_start: date | str | None = None,
    resync: list[str] | str | None = None,
) -> SyncResult:
    """Copies the selected Litmos resources into the warehouse, incrementally, in committed batches.

    Args:
        destination: ``duckdb`` (file ``litmos.duckdb`` in the cwd by default), ``postgres`` or a dlt
            destination object.
        credentials: DuckDB file path or Postgres DSN; None = ``DESTINATION__<NAME>__CREDENTIALS``.
        dataset: Warehouse schema for the raw tables.
        resources: Table names (list or comma-separated); None = all.
        start_date: First day (a date, a UTC datetime or ``YYYY-MM-DD``) for resources without a cursor;
            with ``end_date``, the start of a bounded backfill.
        end_date: Inclusive last day of a bounded backfill that does not move the nightly cursors.
        lookback_days: Days re-read before each cursor (late-committed rows).
        state_dir: dlt pipelines dir holding the pipeline state (cursors).
        pipeline_name: dlt pipeline name.
        api_key: Litmos key; None = ``SOURCES__LITMOS__API_KEY`` / ``.dlt/secrets.toml``. Every
            ``sources.litmos`` setting left None here is injected by dlt (:func:`sync_options.configured`).
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
    options = sync_options(resources=resources, start_date=start_date, end_date=end_date,
                           lookback_days=lookback_days, response_format=response_format,
                           auth_in_query=auth_in_query, requests_per_minute=requests_per_minute,
                           api_key=api_key, base_url=base_url, source=source_name,
                           collection_refresh_days=collection_refresh_days, history_start=history_start,
                           resync=resync)
    opts, tables = options.source, list(options.source.resources)
    opts = replace(opts, tenant=tenant_of(pipeline_name))  # a tenant's messages name its own settings
    start, end = opts.start_date, opts.end_date
    dest = dlt_destination(destination, credentials, dataset)
    duckdb_lock.install()  # our processes take turns on a DuckDB file (pipelines/duckdb_lock.py)
    emit = serialised(on_event)
    client = make_client(opts, on_event=emit)
    # Ask the server for its clock (and check key and host) before the state dir is touched at all.
    server_now, clock_trusted = probe_server_clock(client)
    check_dates(server_now, start, end, options.history_start)
    pipeline = _make_pipeline(pipeline_name, dest, dataset, state_dir)

    database = duckdb_lock.database_of(dest)  # a DuckDB file: its queries below at one turn each
    with duckdb_lock.turn(database):
        if pipeline.has_pending_data:
            # A killed run extracted batches (rows + cursors) but did not load them: finish those first.
            log.info("loading the batches a previous run left pending")
            finish_pending(pipeline)  # not pipeline.run(): see pipelines.state_hygiene.finish_pending
        pipeline.sync_destination()  # restores state from the warehouse when the state dir was lost
    runs = Runs(client, tables)
    walk.finish_resyncs(pipeline)
    state = source_state(pipeline)
    planned = session_state(state)
    first_sync = not any(planned["cursors"].get(t) for t in tables)
    chosen = walk.history_choice(options.history_start, start, end, state, first_sync)
    resync_plan = walk.resync_plan(pipeline, state, list(options.resync), tables, chosen, server_now)
    first_start = floor_day(server_now) - timedelta(days=walk.RECENT_DAYS)
    if isinstance(chosen, datetime):
        first_start = max(first_start, chosen)
    walk.refuse_cursors_ahead(planned["cursors"], server_now, resync_plan)
    since_whole = walk.feeds_to_complete(planned, tables, chosen)
    clock = {"clock_trusted": clock_trusted,
             "newest_seen": max((c for c in planned["cursors"].values() if c), default=None)}
    if first_sync and start is None and end is None:
        log.info("first sync: reading the last %d days first, then the org's history back to %s",
                 walk.RECENT_DAYS, f"{chosen:%Y-%m-%d} (history_start)" if chosen else "its first record")
    choice_text = None if chosen is walk.NO_WALK else (f"{chosen:%Y-%m-%d}" if chosen else "")
    session = open_session(client, opts, server_now=server_now, emit=emit, first_start=first_start,
                           resync=resync_plan, history_choice=choice_text, since_whole=since_whole, **clock,
                           **planned)
    runs.run(pipeline, session, emit)
    walk.finish_resyncs(pipeline)
    if end is None:
        walk.walk_history(pipeline, client, runs, opts, chosen, server_now, emit, clock)
    if runs.rejected:
        from sources.litmos.rejects import rejects_warning  # noqa: PLC0415

        runs.notes.append(rejects_warning(runs.rejected, dataset))
        log.warning(runs.notes[-1])
    if start is not None and end is None and first_sync:
        with duckdb_lock.turn(database):
            note = walk.partial_history_note(pipeline, start)
        if note:
            log.warning(note)
            runs.notes.append(note)

    after = cursors_from_state(source_state(pipeline))
    return SyncResult(started_at=started_at, finished_at=datetime.now(timezone.utc), server_now=server_now,
                      requests_total=client.stats.requests_total, retries_total=client.stats.retries_total,
                      rate_wait_seconds=round(client.limiter.waited_s, 3),
                      resources={t: runs.resource_stats(t, after.get(t)) for t in tables},
                      history=runs.history_summary, notes=runs.notes,
                      history_estimate=runs.history_estimate, history_requests=runs.history_requests,
                      rejects=len(runs.rejected))


__all__ = ["sync", "read_cursors", "SyncResult", "STATE_CURSORS", "ENDPOINTS"]
