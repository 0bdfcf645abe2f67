"""The dlt resources of a batch: each table's pages in window order, and the state marks they prove.

Each generator yields the typed empty table first, NOT_READY while a page is on the wire, then pages
combined up to ``ROWS_PER_ITEM`` rows; after a window it moves that window's state mark.
"""
from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from typing import Any, Callable, Iterator

import dlt
import pyarrow as pa

from . import state
from .concurrency import NOT_READY, until_done
from .parsing import arrow_schema
from .plan import days_read
from .rejects import rejects_resource
from .settings import ENDPOINTS, Endpoint
from .state import COLLECTION_FAMILY, RESYNC_SUFFIX, WHOLE_FEED
from .windows import Window

# A ``session.SyncSession``, which imports this module: typed ``Any`` so the import runs one way.
Session = Any

# dlt's extract pays a fixed cost per item: pages are combined (zero-copy) up to this many rows.
ROWS_PER_ITEM = 20_000


def table_resource(endpoint: Endpoint, items: Iterator[pa.Table] | Callable[[], Iterator[pa.Table]],
                   table_name: str | None = None) -> Any:
    """The endpoint's dlt resource (keys, disposition) over ``items``; ``table_name``: a re-sync's copy."""
    table_name = table_name or endpoint.table
    if endpoint.kind in ("full", "child"):
        return dlt.resource(items, name=endpoint.table, table_name=table_name, write_disposition="replace")
    return dlt.resource(items, name=endpoint.table, table_name=table_name,
                        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
                        primary_key=list(endpoint.primary_key),
                        columns={endpoint.cursor: {"dedup_sort": "desc"}} if endpoint.cursor else None)


def batch_resources(session: Session, work: Any) -> list[Any]:
    """The dlt resources of a submitted batch (only tables with work in it), then its rejects."""
    items = batch_items(session, work)
    running = set(items)

    def tracked(table: str, pages: Iterator[pa.Table | None]) -> Iterator[pa.Table | None]:
        try:
            yield from pages
        finally:
            running.discard(table)

    def drain() -> list[Any]:
        found = list(session.fetcher.drain_rejects())
        session.rejected.extend(found)
        return found

    resources = [table_resource(ENDPOINTS[table], tracked(table, pages),
                                table_name=table + RESYNC_SUFFIX if table in session.resync else None)
                 for table, pages in items.items()]
    # Drained once the batch's resources have run, so they are committed with the batch.
    resources.append(rejects_resource(drain, ready=lambda: not running))
    return resources


def batch_items(session: Session, work: Any) -> dict[str, Iterator[pa.Table | None]]:
    """The page generators of a submitted batch by table (run inside a dlt extraction: they set state);
    its requests now go before those fetched ahead."""
    session.reading_batch = max(session.reading_batch, work.index)
    out: dict[str, Iterator[pa.Table | None]] = {}
    for table, positions in work.delta.items():
        out[table] = _delta_items(session, table, positions)
    for table, future in work.since.items():
        out[table] = _since_items(session, table, future)
    if work.family is not None:
        for table in COLLECTION_FAMILY:
            if table in session.resources:
                out[table] = _family_items(session, table, work.family)
    if work.details is not None:
        out["module_details"] = _future_items("module_details", work.details)
    return out


def _delta_items(session: Session, table: str, positions: list[int]) -> Iterator[pa.Table | None]:
    if not session.history_mode:  # (a walk's tables exist: an empty one then costs no load job)
        yield _empty(table)
    state.remember_history_choice(session.history_choice)
    if table not in session.resync:
        state.forget_finished_resync(table)
    last = session.windows[table][-1]
    pending = _PageBuffer(session.rows_per_item)
    rows, days = 0, 0.0
    for position in positions:
        window = session.windows[table][position]
        for page in session.window_pages(table, position):
            if page is NOT_READY:
                yield NOT_READY
            else:
                rows += page.num_rows
                if session.clock_from_data:
                    session.see(table, page)
                yield from pending.add(page)
        days += days_read(window.since, window.to, session.server_now)
        # Safe while the window's last rows still wait in ``pending``: the mark is committed with them.
        _mark_loaded(session, table, window, position, last)
    if not (session.history_mode or table in session.resync):  # old windows are sparser than today's
        state.set_rows_per_day(table, rows, days)
    yield from pending.flush()


def _mark_loaded(session: Session, table: str, window: Window, position: int, last: Window) -> None:
    """Moves the state mark that ``window``'s role says it proves (see ``Window.role``)."""
    if window.role == "cursor":
        state.set_cursor(table, session.cursor_after(window))
        if position == 0 and session.cursors_before.get(table) is None:
            state.cover_first_window(table, window.since)
    elif window.role == "history":
        state.set_covered(table, window.since)
    elif window.role == "resync":
        state.set_resync_progress(table, session.resync[table], session.cursor_after(window), done=window == last)
    else:
        state.set_backfill(table, session.backfill_range, None if window == last else window.to)


def _family_items(session: Session, table: str, future: Future) -> Iterator[pa.Table | None]:
    yield from _future_items(table, future, key=table)
    counted = session.client.stats.resources
    requests = sum(counted[t].requests for t in COLLECTION_FAMILY if t in counted)
    state.set_refreshed(table, session.server_now, requests)


def _since_items(session: Session, table: str, future: Future) -> Iterator[pa.Table | None]:
    yield from _future_items(table, future)
    if table in session.resync:
        state.set_resync_progress(table, session.resync[table], session.server_now, done=True)
        return
    state.forget_finished_resync(table)
    since = session.since[table]
    if since is not None:
        state.set_rows_per_day(table, sum(t.num_rows for t in future.result()),
                               days_read(since, session.server_now, session.server_now))
    if session.backfill:
        return
    now: datetime = session.server_now
    if session.clock_from_data:  # the local clock may run ahead: no further than what was read
        for page in future.result():
            session.see(table, page)
        now = min(now, session.newest_seen or since or now)
    state.set_cursor(table, now)
    if since is None:
        state.set_covered(table, WHOLE_FEED)
    elif session.cursors_before.get(table) is None:
        state.set_covered(table, since)


def _empty(table: str) -> pa.Table:
    return arrow_schema(ENDPOINTS[table]).empty_table()


def _future_items(table: str, future: Future, key: str | None = None) -> Iterator[pa.Table | None]:
    """The typed empty table, NOT_READY until ``future`` is done, then its pages (or ``result[key]``)."""
    yield _empty(table)
    yield from until_done(future)
    result = future.result()
    yield from result[key] if key is not None else result


class _PageBuffer:
    """Combines consecutive pages into tables of up to ``max_rows`` rows (chunks linked, not copied)."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max(1, max_rows)
        self.pages: list[pa.Table] = []
        self.rows = 0

    def add(self, page: pa.Table) -> Iterator[pa.Table]:
        """Buffers ``page``, first yielding the buffer when it would pass ``max_rows``."""
        if self.pages and self.rows + page.num_rows > self.max_rows:
            yield from self.flush()
        self.pages.append(page)
        self.rows += page.num_rows
        if self.rows >= self.max_rows:
            yield from self.flush()

    def flush(self) -> Iterator[pa.Table]:
        """Yields the buffered pages as one table (nothing when empty)."""
        pages, self.pages, self.rows = self.pages, [], 0
        if len(pages) == 1:
            yield pages[0]
        elif pages:
            yield pa.concat_tables(pages, promote_options="default")
