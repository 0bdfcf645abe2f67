"""dlt source for the Litmos LMS API: every read endpoint (settings.py) as a typed, merged table.

    dlt.pipeline("litmos", destination="duckdb").run(litmos_source(start_date="2025-11-23"))

Building ``litmos_source(...)`` only validates its arguments (no request), so schedulers can build it
when they parse a DAG file. ``pipelines.sync`` runs the same resources in committed batches.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

import dlt

from .budget import DEFAULT_REQUESTS_PER_MINUTE, RateLimiter
from .client import LitmosClient
from .exceptions import LitmosError
from .options import LitmosOptions, litmos_options, select_resources
from .resources import table_resource
from .session import BatchWork, SyncSession
from .settings import DEFAULT_BASE_URL, ENDPOINTS, PAGE_LIMIT
from .state import (RESYNC_SUFFIX, STATE_COVERED, STATE_CURSORS, STATE_HISTORY_START, STATE_RESYNC, WHOLE_FEED,
                    cursors_from_state, session_state)
from .windows import format_api_date

__all__ = ["litmos_source", "LitmosError", "ENDPOINTS", "open_session", "batch_source", "make_client",
           "probe_server_clock", "LitmosOptions", "litmos_options", "select_resources",
           "SOURCE_NAME", "STATE_CURSORS", "STATE_COVERED", "STATE_RESYNC", "STATE_HISTORY_START", "WHOLE_FEED",
           "RESYNC_SUFFIX", "cursors_from_state", "session_state", "SyncSession", "BatchWork"]

log = logging.getLogger(__name__)

SOURCE_NAME = "litmos"
"""dlt source name and config section (``sources.litmos.*``); cursors live in this source's state."""


def probe_server_clock(client: LitmosClient) -> tuple[datetime, bool]:
    """The server's now and whether it came from the server (``Date``); checks key and host.

    Without a ``Date`` the local clock stands in (cursors then move no further than the newest change
    read). The probe is a one-day window like any other request.
    """
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"since": format_api_date(today), "to": format_api_date(today + timedelta(days=1)),
              "start": "0", "limit": str(PAGE_LIMIT)}
    response, _ = client.get("/org/teams", params, label="_probe")
    if response.server_date is None:
        log.warning("the API sent no Date header; using the local clock as the server's now, and cursors "
                    "advance no further than the newest change read")
        return datetime.now(timezone.utc), False
    return response.server_date, True


def make_client(options: LitmosOptions, *, on_event: Callable[[Any], None] | None = None) -> LitmosClient:
    """The client of ``options`` with its shared rate budget; ``client.stats`` counts the whole run."""
    return LitmosClient(options.base_url, options.api_key, options.source_name,
                        response_format=options.response_format, auth_in_query=options.auth_in_query,
                        limiter=RateLimiter(options.requests_per_minute), max_retries=options.max_retries,
                        backoff_base=options.backoff_base, pool_size=options.max_workers + 2, on_event=on_event,
                        env_prefix=options.env_prefix)


def open_session(client: LitmosClient, options: LitmosOptions, *, server_now: datetime | None = None,
                 **planning: Any) -> SyncSession:
    """Probes the server's now (unless given) and plans the run of ``options``; ``planning`` (more
    ``SyncSession`` arguments: ``emit``, :func:`session_state`'s values...) wins over the options'."""
    now = server_now or probe_server_clock(client)[0]
    kwargs: dict[str, Any] = dict(
        resources=list(options.resources), start_date=options.start_date, end_date=options.end_date,
        lookback_days=options.lookback_days, page_limit=options.page_limit, max_workers=options.max_workers,
        windows_per_batch=options.windows_per_batch, collection_refresh_days=options.collection_refresh_days,
        store_login_keys=options.store_login_keys)
    kwargs.update(planning)
    return SyncSession(client, server_now=now, **kwargs)


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0)
def batch_source(session: SyncSession, work: BatchWork) -> Any:
    """The resources of one submitted batch (used by ``pipelines.sync``)."""
    return session.resources_for(work)


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0)
def litmos_source(
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    source_name: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    lookback_days: float = 1,
    resources: Sequence[str] | None = None,
    response_format: str = "xml",
    auth_in_query: bool = False,
    requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE,
    max_workers: int = 8,
    page_limit: int = PAGE_LIMIT,
    collection_refresh_days: int = 0,
    store_login_keys: bool = False,
) -> Any:
    """All selected Litmos resources, read from their stored cursors up to the server's now.

    dlt injects the arguments from ``sources.litmos.*`` (``source_name``: ``sources.litmos.source``);
    :func:`~sources.litmos.options.litmos_options` validates them before any request.
    """
    raw = dict(locals())
    options = litmos_options(**{**raw, "source_name": source_name or dlt.config.get("sources.litmos.source")})
    run = _SharedRun(options)
    return [table_resource(ENDPOINTS[table], run.pages(table)) for table in options.resources]


class _SharedRun:
    """The one session behind the resources of a ``litmos_source`` extraction: opened by the first resource
    dlt iterates, closed when the last finishes (at once when one fails or dlt closes them early)."""

    def __init__(self, options: LitmosOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._session: SyncSession | None = None
        self._items: dict[str, Iterator[Any]] = {}
        self._wanted: set[str] = set()  # the tables this extraction iterates
        self._started: set[str] = set()
        self._running = 0

    def pages(self, table: str) -> Callable[[], Iterator[Any]]:

        def pages() -> Iterator[Any]:
            items = self._enter(table)
            outcome = "error"
            try:
                yield from items
                outcome = "done"
            except GeneratorExit:
                outcome = "closed"
                raise
            finally:
                self._leave(outcome)

        pages.__name__ = pages.__qualname__ = table
        return pages

    def _enter(self, table: str) -> Iterator[Any]:
        with self._lock:
            if table in self._started:  # a new extraction of the same source
                self._close(cancel=True, over=True)
            if not self._started:
                self._wanted = _selected(list(self.options.resources), table)
            if self._session is None:
                self._open([t for t in self.options.resources if t in self._wanted - self._started])
            self._started.add(table)
            self._running += 1
            return self._items.pop(table, None) or iter(())

    def _open(self, tables: list[str]) -> None:
        try:
            state = dlt.current.source_state()
        except Exception:  # not inside a dlt extraction: behave as a first run
            state = {}
        client = make_client(self.options)
        try:
            self._session = open_session(client, self.options, resources=select_resources(tables),
                                         **session_state(state))
            self._items = self._session.items_for(self._session.submit(0))
        except BaseException:
            self._close(cancel=True, over=True)
            client.close()
            raise

    def _leave(self, outcome: str) -> None:
        with self._lock:
            self._running -= 1
            over = outcome == "error" or (not self._running and self._started >= self._wanted)
            if over or (outcome == "closed" and not self._running):
                # dlt closed the generators (an error elsewhere, or add_limit): stop now; a resource of
                # the same extraction that starts later opens a new session for what is left.
                self._close(cancel=outcome != "done", over=over)

    def _close(self, cancel: bool, over: bool) -> None:
        session, self._session, self._items = self._session, None, {}
        if over:
            self._started = set()
        if session is not None:
            session.close(cancel=cancel)


def _selected(tables: list[str], table: str) -> set[str]:
    """The resources of this source that the running dlt extraction iterates (``with_resources``)."""
    try:
        selected = set(dlt.current.source().selected_resources) & set(tables)
    except Exception:  # not inside a dlt extraction
        selected = set(tables)
    return selected | {table}
