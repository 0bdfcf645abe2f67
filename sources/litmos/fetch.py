"""Page loops: one window, list or object of an endpoint -> typed Arrow tables.

``start`` advances by the records received (pages may hold more than ``limit``); a short page ends the walk.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from .budget import PriorityGate
from .client import LitmosClient
from .events import PageFetched, WindowDone, WindowStarted
from .exceptions import Cancelled, LitmosNotFoundError, LitmosUndecodableError
from .parsing import arrow_schema, parse_page
from .salvage import salvage_undecodable
from .settings import PAGE_LIMIT, Endpoint
from .stats import RunStats
from .windows import Window

log = logging.getLogger(__name__)


@dataclass
class Reject:
    """A record that could not be decoded, kept raw for ``_litmos_rejects`` (rejects.py)."""

    endpoint: str  # the path requested, parent id filled in
    table: str
    since: datetime | None
    to: datetime | None
    start: int  # the page's offset
    parent_id: str | None
    reason: str
    raw: str  # the record's text, undecodable bytes written as \xff
    seen_at: datetime


@dataclass
class Page:
    table: pa.Table
    received: int  # records in the body (rows + keyless + quarantined): the next page's start moves by it
    rejects: list[Reject]


@dataclass
class Fetcher:
    """Reads pages through a :class:`LitmosClient`, counting into ``client.stats``; ``emit`` is serialised."""

    client: LitmosClient
    page_limit: int = PAGE_LIMIT
    emit: Callable[[Any], None] | None = None
    gate: PriorityGate | None = None  # bounds requests in flight across all fetching threads
    store_login_keys: bool = False  # keep Endpoint.credentials columns (else loaded as NULL)
    rejects: list[Reject] = field(default_factory=list)  # quarantined records of the run, for rejects.py
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cancelled(self) -> threading.Event:
        return self.client.cancelled

    @property
    def stats(self) -> RunStats:
        return self.client.stats

    def _event(self, event: Any) -> None:
        if self.emit:
            self.emit(event)

    def fetch_window(self, endpoint: Endpoint, window: Window | None, index: int = 0, total: int = 1,
                     extra_params: dict[str, str] | None = None, parent_id: str | None = None,
                     on_page: Callable[[pa.Table], None] | None = None,
                     priority: Callable[[int], int] | None = None) -> list[pa.Table]:
        """Reads every page of one window (or of an undated list) of ``endpoint``; returns the non-empty
        pages, or hands each to ``on_page`` (which may block: back-pressure) and returns none.

        Args:
            index: Window number within the run (of ``total``), for progress events.
            extra_params: More query parameters (``since`` for /achievements).
            parent_id: Id substituted into the path (child endpoints) and written to the parent column.
            priority: Maps the pages read so far to the next request's priority (default: that count).
        """
        self.stats.started(endpoint.table)
        since, to = (window.since, window.to) if window else (None, None)
        self._event(WindowStarted(endpoint.table, since, to, index, total))
        base = dict(window.params()) if window else {}
        base.update(extra_params or {})
        path = endpoint.path.replace("{parent}", quote(parent_id or "", safe=""))
        tables: list[pa.Table] = []
        start = 0
        previous_body_hash: int | None = None
        rows = 0
        pages = 0
        while True:
            if self.cancelled.is_set():
                raise Cancelled("run cancelled")
            params = {**base, "start": str(start), "limit": str(self.page_limit)}
            try:
                resp, page = self._get(path, params, priority=priority(pages) if priority else pages,
                                       label=endpoint.table,
                                       validate=self._parser(endpoint, parent_id, path, window, start))
            except LitmosNotFoundError:
                if endpoint.kind != "child":
                    raise
                # The API says 404 when "the User/Course etc that you requested does not exist": the
                # parent was deleted after its list was read. The full refresh then drops its rows.
                noun = (endpoint.parent or "parent").replace("_", " ").removesuffix("s")
                log.warning("GET %s: 404, the %s %s no longer exists (deleted since its list was read); its "
                            "rows are removed", path, noun, parent_id)
                self._event(WindowDone(endpoint.table, since, to, 0, pages, index, total))
                return []
            table = page.table
            self._keep_rejects(path, page)
            body_hash = hash(resp.body)
            if body_hash == previous_body_hash and table.num_rows:
                # An endpoint that ignores start/limit would repeat its page forever.
                log.warning("%s ignores paging (same page for start=%d); stopping", path, start)
                break
            previous_body_hash = body_hash
            pages += 1
            n = table.num_rows
            if n and on_page is not None:
                on_page(table)
            elif n:
                tables.append(table)
            rows += n
            self._event(PageFetched(endpoint.table, start, n))
            # Paging counts what the server sent, not what was kept (keyless records included).
            if page.received < self.page_limit:
                break
            start += page.received
        self.stats.finished(endpoint.table, pages, rows)
        self._event(WindowDone(endpoint.table, since, to, rows, pages, index, total))
        return tables

    def fetch_detail(self, endpoint: Endpoint, object_id: str) -> pa.Table | None:
        """GETs one object (``/modules/{id}``); a 404 means "not a SCORM/Tin Can module": skipped."""
        if self.cancelled.is_set():
            raise Cancelled("run cancelled")
        self.stats.started(endpoint.table)
        path = endpoint.path.replace("{parent}", quote(object_id, safe=""))
        try:
            _, page = self._get(path, label=endpoint.table, validate=self._parser(endpoint, None, path, None, 0))
        except LitmosNotFoundError:
            log.warning("GET %s: 404, not a SCORM/Tin Can module; skipped", path)
            return None
        table = page.table
        self._keep_rejects(path, page)
        self.stats.finished(endpoint.table, 1, table.num_rows, windows=0)
        return table

    def _get(self, path: str, params: dict[str, str] | None = None, priority: int = 0, **kwargs: Any) -> Any:
        with self.gate.hold(priority) if self.gate else nullcontext():
            return self.client.get(path, params, priority=priority, **kwargs)

    def drain_rejects(self) -> list[Reject]:
        """The records quarantined since the last call."""
        with self._lock:
            out, self.rejects = self.rejects, []
        return out

    def _keep_rejects(self, path: str, page: Page) -> None:
        if not page.rejects:
            return
        with self._lock:
            self.rejects.extend(page.rejects)
        log.warning("GET %s: %d record(s) that are not valid UTF-8 quarantined in _litmos_rejects (start=%d)",
                    path, len(page.rejects), page.rejects[0].start)

    def _parser(self, endpoint: Endpoint, parent_id: str | None, path: str = "", window: Window | None = None,
                start: int = 0):
        response_format = self.client.response_format
        undecodable: set[bytes] = set()  # digests of bodies of this request that were not UTF-8

        def validate(body: bytes, server_date: datetime | None) -> Page:
            # Stamp rows with the server's clock when it told us (a simulator may run a frozen clock).
            synced_at = server_date or datetime.now(timezone.utc)
            rejects: list[Reject] = []
            try:
                table = parse_page(body, endpoint, response_format, synced_at, parent_id)
            except LitmosUndecodableError:
                digest = hashlib.blake2b(body, digest_size=16).digest()
                if digest not in undecodable:
                    undecodable.add(digest)
                    raise  # a body cut inside a character looks the same: one more look
                # The same bytes twice: the server stores them so. Keep what decodes, quarantine the rest.
                good, bad = salvage_undecodable(body, endpoint, response_format)
                table = (parse_page(good, endpoint, response_format, synced_at, parent_id) if good
                         else arrow_schema(endpoint).empty_table())
                rejects = [Reject(path or endpoint.path, endpoint.table, window.since if window else None,
                                  window.to if window else None, start, parent_id, reason, raw, synced_at)
                           for raw, reason in bad]
            received = table.num_rows + len(rejects)
            table = drop_rows_without_key(table, endpoint)
            return Page(table if self.store_login_keys else blank_credentials(table, endpoint), received, rejects)

        return validate


def blank_credentials(table: pa.Table, endpoint: Endpoint) -> pa.Table:
    """NULLs the endpoint's credential columns (``LoginKey`` logs anyone in as its user), keeping the column."""
    for name in endpoint.credentials:
        i = table.schema.get_field_index(name)
        if i >= 0 and table.column(i).null_count != table.num_rows:
            table = table.set_column(i, table.schema.field(i), pa.nulls(table.num_rows, table.schema.field(i).type))
    return table


def drop_rows_without_key(table: pa.Table, endpoint: Endpoint) -> pa.Table:
    """Removes rows whose primary key is incomplete (they cannot be merged), with a warning."""
    if table.num_rows == 0:
        return table
    mask = None
    for column in endpoint.primary_key:
        valid = pc.is_valid(table.column(column))
        mask = valid if mask is None else pc.and_(mask, valid)
    kept = table.filter(mask)
    if kept.num_rows != table.num_rows:
        log.warning("%s: skipped %d record(s) without a complete key (%s)", endpoint.path,
                    table.num_rows - kept.num_rows, ", ".join(endpoint.primary_key))
    return kept
