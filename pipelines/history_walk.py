"""The history walk and re-syncs of one sync: the start it walks to, what is left, and the passes.

The rule (where a history begins, what each table holds) is :mod:`pipelines.history`'s.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import dlt

from pipelines.batches import Runs
from pipelines.state_hygiene import source_state
from pipelines.history import (DANGLING_STEP_DAYS, HISTORY_FLOOR, clear_shadow, dangling_references,
                               discovered_bound, earliest_created, held_since, new_resync_entry, swap_in)
from pipelines.sync_options import AUTO, raise_resync_with_end_date
from sources.litmos import (STATE_COVERED, STATE_HISTORY_START, STATE_RESYNC, WHOLE_FEED, cursors_from_state,
                            open_session, session_state)
from sources.litmos.exceptions import LitmosConfigError
from sources.litmos.options import LitmosOptions
from sources.litmos.settings import ENDPOINTS
from sources.litmos.windows import floor_day, parse_user_date

log = logging.getLogger("pipelines.sync.history")  # under the sync's logger: one logger shows the run

# Days a first sync reads forwards before it walks back: one batch, so the nightly cursor is committed
# first and the discovered bound comes from the org's current records.
RECENT_DAYS = 56
NO_WALK: Any = object()  # a bounded backfill (--end-date): no history walk
# Most history windows are empty: a dlt load per 8 weeks of them would cost more than their requests.
HISTORY_BATCH_FACTOR = 4


def history_choice(history: datetime | None, start: datetime | None, end: datetime | None,
                   state: dict[str, Any], first_sync: bool) -> Any:
    """The history start this run walks to: a datetime (chosen), None (discover it) or NO_WALK."""
    if end is not None:
        return NO_WALK
    if history is not None:
        return None if history is AUTO else history
    if start is not None and first_sync:
        return floor_day(start)  # partial history, chosen: remembered for the next runs
    stored = state.get(STATE_HISTORY_START)
    return parse_user_date(stored, "history_start") if stored else None


def _bound(pipeline: dlt.Pipeline, chosen: Any, server_now: datetime) -> datetime:
    if chosen is not None and chosen is not NO_WALK:
        return floor_day(chosen)
    return discovered_bound(earliest_created(pipeline), server_now)


def resync_plan(pipeline: dlt.Pipeline, state: dict[str, Any], resync: Any, tables: list[str],
                chosen: Any, server_now: datetime) -> dict[str, dict[str, Any]]:
    """The re-syncs this run carries on: those in progress, plus the tables ``resync`` names."""
    active = {t: dict(e) for t, e in (state.get(STATE_RESYNC) or {}).items()
              if not e.get("done") and t in tables}
    if chosen is NO_WALK:
        return active if not resync else raise_resync_with_end_date()
    for table in resync or []:
        if table in active:
            continue  # interrupted: the same command carries on where it stopped
        clear_shadow(pipeline, table)
        active[table] = new_resync_entry(_bound(pipeline, chosen, server_now))
    return active


# Windows end at the next midnight, so a cursor is at most a day ahead of a trusted server clock.
CURSOR_TOLERANCE = timedelta(days=2)


def refuse_cursors_ahead(cursors: dict[str, datetime | None], server_now: datetime,
                         resyncing: dict[str, Any]) -> None:
    """Refuses cursors after the server's now (a wrong clock wrote them): they would skip every change."""
    ahead = sorted(t for t, c in cursors.items() if c and c > server_now + CURSOR_TOLERANCE and t not in resyncing)
    if ahead:
        raise LitmosConfigError(
            f"the stored cursor of {', '.join(ahead)} ({max(cursors[t] for t in ahead):%Y-%m-%d}) is after the "
            f"server's now ({server_now:%Y-%m-%d}): a run with a wrong clock wrote it; rerun with "
            f"`--resync {','.join(ahead)}` to read those tables again (docs/troubleshooting.md)")


def feeds_to_complete(planned: dict[str, Any], tables: list[str], chosen: Any) -> set[str]:
    """The ``since`` feeds this run reads whole: they have a cursor but were read from a later date than
    the history start (the feed takes no ``to``, so nothing narrower exists)."""
    if chosen is NO_WALK:
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


def finish_resyncs(pipeline: dlt.Pipeline) -> None:
    """Swaps in every re-synced copy whose last batch is committed (once, even after a kill)."""
    for table, entry in (source_state(pipeline).get(STATE_RESYNC) or {}).items():
        if entry.get("done"):
            swap_in(pipeline, table, entry["id"])


def walk_history(pipeline: dlt.Pipeline, client: Any, runs: Runs, opts: LitmosOptions, chosen: Any,
                 server_now: datetime, emit: Any, clock: dict[str, Any]) -> None:
    """Walks each delta table's history back to the bound, pass after pass while the bound moves back."""
    tables = list(opts.resources)
    delta = [t for t in tables if ENDPOINTS[t].kind == "delta"]
    extra_days = 0
    dangling_before: int | None = None
    for _ in range(200):  # each pass moves the bound back; the floor ends it in any case
        state = source_state(pipeline)
        resyncing = set(state.get(STATE_RESYNC) or {})
        bound = _bound(pipeline, chosen, server_now)
        if chosen is None and extra_days:
            bound = max(HISTORY_FLOOR, bound - timedelta(days=extra_days))
        todo = _history_todo(pipeline, state, [t for t in delta if t not in resyncing], bound)
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
        session = open_session(client, opts, resources=[t for t in tables if t in todo or t == "module_details"],
                               windows_per_batch=opts.windows_per_batch and opts.windows_per_batch * HISTORY_BATCH_FACTOR,
                               server_now=server_now, emit=emit, history=todo, **clock, **planned)
        runs.announce_history(session, bound)
        before = runs.requests_total
        runs.run(pipeline, session, emit)
        runs.history_requests += runs.requests_total - before
        runs.history_summary = f"history read back to {bound:%Y-%m-%d}"
        if chosen is not None:
            break


def _history_todo(pipeline: dlt.Pipeline, state: dict[str, Any], delta: list[str],
                  bound: datetime) -> dict[str, tuple[datetime, datetime]]:
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
        if covered.get(table):
            top = datetime.fromisoformat(covered[table])
        else:  # an old-default table's first day is re-read (one window); the walk itself never re-reads
            top = floor_day(derived.get(table) or cursor) + timedelta(days=1)
        if floor_day(top) > bound:
            todo[table] = (bound, top)
    return todo


def partial_history_note(pipeline: dlt.Pipeline, start: datetime) -> str | None:
    """One line on what a first sync with a later ``--start-date`` left out."""
    earliest = earliest_created(pipeline)
    dangling = dangling_references(pipeline)
    if earliest is None or (floor_day(earliest) >= floor_day(start) and not dangling):
        return None
    return (f"partial history: --start-date {start:%Y-%m-%d} leaves out every row last changed before it (the org "
            f"has records created since {earliest:%Y-%m-%d}; {dangling} loaded rows reference parents not loaded); "
            "later runs keep this start; `litmos-sync run --history-start auto` loads the rest")
