"""Page loops: one window, one list, or one object of an endpoint -> a list of typed Arrow tables.

Paging follows the reality notes: ``limit`` is always the page limit (1000), ``start`` advances by the
number of records actually received (pages may hold MORE than ``limit``), and a short or empty page ends
the walk. Order is never assumed; the merge on primary keys removes duplicates.
"""
from __future__ import annotations

import logging
import threading
import time
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
from .exceptions import Cancelled, LitmosNotFoundError
from .parsing import parse_page
from .settings import PAGE_LIMIT, Endpoint
from .windows import Window

log = logging.getLogger(__name__)


@dataclass
class ResourceCounters:
    """Per-resource progress collected by worker threads."""

    windows_total: int = 0
    windows_done: int = 0
    pages: int = 0
    rows: int = 0
    first_start: float | None = None
    last_end: float | None = None

    @property
    def duration_s(self) -> float:
        if self.first_start is None or self.last_end is None:
            return 0.0
        return self.last_end - self.first_start


@dataclass
class Fetcher:
    """Reads pages through a :class:`LitmosClient` and keeps per-resource counters.

    Attributes:
        client: The HTTP client (shared rate budget inside).
        page_limit: ``limit`` sent with every paged request (1000 = the API's maximum).
        emit: Event callback (already serialised by the caller), or None.
    """

    client: LitmosClient
    page_limit: int = PAGE_LIMIT
    emit: Callable[[Any], None] | None = None
    counters: dict[str, ResourceCounters] = field(default_factory=dict)
    cancelled: threading.Event | None = None  # None: the client's, so a cancel also cuts its backoffs short
    gate: PriorityGate | None = None  # bounds requests in flight across all fetching threads
    store_login_keys: bool = False  # keep Endpoint.credentials columns (else loaded as NULL)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.cancelled is None:
            self.cancelled = getattr(self.client, "cancelled", None) or threading.Event()

    def counter(self, table: str) -> ResourceCounters:
        with self._lock:
            return self.counters.setdefault(table, ResourceCounters())

    def _event(self, event: Any) -> None:
        if self.emit:
            self.emit(event)

    def fetch_window(self, endpoint: Endpoint, window: Window | None, index: int = 0, total: int = 1,
                     extra_params: dict[str, str] | None = None, parent_id: str | None = None,
                     on_page: Callable[[pa.Table], None] | None = None,
                     priority: Callable[[int], int] | None = None) -> list[pa.Table]:
        """Reads every page of one window (or of an undated list) of ``endpoint``.

        Args:
            endpoint: The endpoint row.
            window: The since/to window (delta endpoints) or None.
            index: Window number within the run, for progress events.
            total: Windows of this resource in the run.
            extra_params: More query parameters (``since`` for /achievements).
            parent_id: Id substituted into the path (child endpoints) and written to the parent column.
            on_page: Receives each non-empty page as it arrives (may block: back-pressure); the pages
                are then not kept, so memory does not grow with the window's size.
            priority: Maps the pages read so far to the next request's priority (default: the pages
                read so far, so a long chain of pages goes first; see budget.py).

        Returns:
            The non-empty pages as tables (empty when ``on_page`` is given).
        """
        counter = self.counter(endpoint.table)
        began = time.monotonic()
        with self._lock:
            if counter.first_start is None:
                counter.first_start = began
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
            resp, table = self._get(path, params, priority=priority(pages) if priority else pages,
                                    label=endpoint.table,
                                    validate=self._parser(endpoint, parent_id))
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
            if n < self.page_limit:
                break
            start += n
        with self._lock:
            counter.windows_done += 1
            counter.pages += pages
            counter.rows += rows
            counter.last_end = time.monotonic()
        self._event(WindowDone(endpoint.table, since, to, rows, pages, index, total))
        return tables

    def fetch_detail(self, endpoint: Endpoint, object_id: str) -> pa.Table | None:
        """GETs one object (``/modules/{id}``); a 404 means "not a SCORM/Tin Can module": skipped."""
        if self.cancelled.is_set():
            raise Cancelled("run cancelled")
        counter = self.counter(endpoint.table)
        with self._lock:
            if counter.first_start is None:
                counter.first_start = time.monotonic()
        path = endpoint.path.replace("{parent}", quote(object_id, safe=""))
        try:
            _, table = self._get(path, label=endpoint.table, validate=self._parser(endpoint, None))
        except LitmosNotFoundError:
            log.warning("GET %s: 404, not a SCORM/Tin Can module; skipped", path)
            return None
        with self._lock:
            counter.pages += 1
            counter.rows += table.num_rows
            counter.last_end = time.monotonic()
        return table

    def _get(self, path: str, params: dict[str, str] | None = None, priority: int = 0, **kwargs: Any) -> Any:
        with self.gate.hold(priority) if self.gate else nullcontext():
            return self.client.get(path, params, priority=priority, **kwargs)

    def _parser(self, endpoint: Endpoint, parent_id: str | None):
        response_format = self.client.response_format

        def validate(body: bytes, server_date: datetime | None) -> pa.Table:
            # Stamp rows with the server's clock when it told us (a simulator may run a frozen clock).
            synced_at = server_date or datetime.now(timezone.utc)
            table = drop_rows_without_key(parse_page(body, endpoint, response_format, synced_at, parent_id),
                                          endpoint)
            return table if self.store_login_keys else blank_credentials(table, endpoint)

        return validate


def blank_credentials(table: pa.Table, endpoint: Endpoint) -> pa.Table:
    """Replaces the endpoint's credential columns (``LoginKey``) by NULLs of the same type.

    The column stays (the documented schema), its values never reach the warehouse: anyone who can
    read the raw tables could otherwise log in as any user, administrators included.
    """
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
