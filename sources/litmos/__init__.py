"""dlt source for the Litmos LMS API: every read endpoint as a typed, incrementally merged table.

Use it directly (one batch; cursors kept in the dlt source state)::

    pipeline = dlt.pipeline("litmos", destination="duckdb", dataset_name="litmos_raw")
    pipeline.run(litmos_source(start_date="2025-11-23"))

Building ``litmos_source(...)`` only validates its arguments (no request, no thread), so schedulers can
build it when they parse a DAG file; the API is contacted when dlt first iterates one of its resources.

or through ``pipelines.sync.sync`` which runs the same resources in committed batches of windows.
The endpoint table that drives every resource is :mod:`sources.litmos.settings`.
"""
from __future__ import annotations

import functools
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

import dlt
import requests

from .budget import DEFAULT_REQUESTS_PER_MINUTE, RateLimiter
from .client import LitmosClient
from .exceptions import LitmosConfigError, LitmosError
from .session import BatchWork, SyncSession, _resource, select_resources, session_state
from .settings import DEFAULT_BASE_URL, DEFAULT_SOURCE_NAME, ENDPOINTS, PAGE_LIMIT
from .windows import format_api_date, parse_user_date

__all__ = ["litmos_source", "LitmosError", "ENDPOINTS", "open_session", "batch_source", "probe_server_now",
           "probe_server_clock"]

log = logging.getLogger(__name__)

SOURCE_NAME = "litmos"
"""dlt source name and config section (``sources.litmos.*``); cursors live in this source's state."""


def probe_server_now(client: LitmosClient) -> datetime:
    """Makes one cheap request and returns the server's clock from its HTTP ``Date`` header.

    It also checks the key and host before any data is touched. Falls back to the local clock (with a
    warning) only when the server sends no ``Date``.
    """
    return probe_server_clock(client)[0]


def probe_server_clock(client: LitmosClient) -> tuple[datetime, bool]:
    """Like :func:`probe_server_now`; also says whether the time came from the server (``Date``).

    Without it the local clock stands in, and a session then never moves a cursor past the newest
    change it has seen (see ``SyncSession.clock_from_data``): a local clock that runs ahead must not
    push cursors into the server's future, where they would skip every change until then.
    """
    # A one-day, day-aligned window with the usual limit: it looks like any other request in a log.
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"since": format_api_date(today), "to": format_api_date(today + timedelta(days=1)),
              "start": "0", "limit": str(PAGE_LIMIT)}
    response, _ = client.get("/org/teams", params, label="_probe")
    if response.server_date is None:
        log.warning("the API sent no Date header; using the local clock as the server's now, and cursors "
                    "advance no further than the newest change read")
        return datetime.now(timezone.utc), False
    return response.server_date, True


class _ClosableClient(LitmosClient):
    """A :class:`LitmosClient` that remembers the per-thread HTTP sessions it opened, so that
    :meth:`close` can shut down every pooled connection of a run (the threads may be gone by then)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http_lock = threading.Lock()
        self._http_sessions: list[requests.Session] = []

    def _session(self) -> requests.Session:
        known = getattr(self._local, "session", None)
        session = super()._session()
        if session is not known:
            with self._http_lock:
                self._http_sessions.append(session)
        return session

    def close(self) -> None:
        """Closes every HTTP session opened so far (a later request opens a new one)."""
        with self._http_lock:
            sessions, self._http_sessions = self._http_sessions, []
        if getattr(self._local, "session", None) in sessions:
            del self._local.session
        for session in sessions:
            session.close()


def _check_connection(api_key: str | None, base_url: str | None, source_name: str | None,
                      response_format: str, requests_per_minute: float | None) -> tuple[str, str]:
    """Validates the connection settings (no network) and returns ``(base_url, source_name)``.

    Raises:
        LitmosConfigError: Missing key, bad base URL, bad format or a ``source`` over 50 characters.
    """
    if not api_key:
        raise LitmosConfigError(
            "no Litmos API key: set SOURCES__LITMOS__API_KEY or sources.litmos.api_key in .dlt/secrets.toml"
        )
    base_url = (base_url or DEFAULT_BASE_URL).strip()
    if not base_url.startswith(("http://", "https://")):
        raise LitmosConfigError(
            f"bad base_url {base_url!r}: use a URL like {DEFAULT_BASE_URL} (SOURCES__LITMOS__BASE_URL)"
        )
    source_name = source_name or DEFAULT_SOURCE_NAME
    if len(source_name) > 50:
        raise LitmosConfigError(
            f"bad source name {source_name[:20]!r}...: the API allows at most 50 characters (SOURCES__LITMOS__SOURCE)"
        )
    if response_format not in ("xml", "json"):
        raise LitmosConfigError(f"bad response_format {response_format!r}: use 'xml' or 'json'")
    if requests_per_minute is None or requests_per_minute < 0:
        raise LitmosConfigError(f"bad requests_per_minute {requests_per_minute!r}: use 0 (unlimited) or more")
    return base_url, source_name


def make_client(api_key: str | None, base_url: str | None, source_name: str | None, *,
                response_format: str = "xml", auth_in_query: bool = False, requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE,
                max_workers: int = 8, max_retries: int = 6, backoff_base: float = 1.0,
                on_event: Callable[[Any], None] | None = None) -> LitmosClient:
    """Validates the connection settings and builds the client with its shared rate budget.

    Building it makes no request; ``client.close()`` closes its pooled HTTP connections.

    Raises:
        LitmosConfigError: Missing key, bad base URL, bad format or a ``source`` over 50 characters.
    """
    base_url, source_name = _check_connection(api_key, base_url, source_name, response_format,
                                              requests_per_minute)
    return _ClosableClient(base_url, api_key, source_name, response_format=response_format,
                           auth_in_query=auth_in_query, limiter=RateLimiter(requests_per_minute),
                           max_retries=max_retries, backoff_base=backoff_base, pool_size=max_workers + 2,
                           on_event=on_event)


def open_session(client: LitmosClient, *, cursors: dict[str, datetime | None], resources=None,
                 start_date=None, end_date=None, lookback_days: float = 1, page_limit: int = PAGE_LIMIT,
                 max_workers: int = 8, windows_per_batch: int | None = None,
                 server_now: datetime | None = None, emit: Callable[[Any], None] | None = None,
                 backfills: dict[str, Any] | None = None, refreshed: dict[str, datetime | None] | None = None,
                 collection_refresh_days: int = 0, store_login_keys: bool = False,
                 rows_per_day: dict[str, float] | None = None, family_requests: int | None = None,
                 **planning: Any) -> SyncSession:
    """Validates the run options, reads the server's now and plans the run.

    Raises:
        LitmosConfigError: Unknown resource or bad date (checked before any request).
    """
    tables = select_resources(resources)
    start = parse_user_date(start_date, "start_date")
    end = parse_user_date(end_date, "end_date")
    if not 1 <= page_limit <= 1000:
        raise LitmosConfigError(f"bad page_limit {page_limit}: the API allows 1..1000")
    now = server_now or probe_server_now(client)
    return SyncSession(client, server_now=now, cursors=cursors, resources=tables, start_date=start,
                       end_date=end, lookback_days=lookback_days, page_limit=page_limit,
                       max_workers=max_workers, windows_per_batch=windows_per_batch, emit=emit,
                       backfills=backfills, refreshed=refreshed, collection_refresh_days=collection_refresh_days,
                       store_login_keys=store_login_keys, rows_per_day=rows_per_day,
                       family_requests=family_requests, **planning)


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

    Args:
        api_key: Litmos API key (``sources.litmos.api_key``, env ``SOURCES__LITMOS__API_KEY``).
        base_url: API root (``SOURCES__LITMOS__BASE_URL``); EU ``https://api.litmoseu.com/v1.svc``.
        source_name: Value of the ``source`` query parameter; None = ``sources.litmos.source``
            (``SOURCES__LITMOS__SOURCE``) or ``litmos-sync``.
        start_date: First day read by resources without a cursor (default: one year back).
        end_date: Inclusive last day of a bounded backfill that leaves the cursors alone.
        lookback_days: Days re-read before each cursor to catch late-committed rows.
        resources: Table names to load (default all; see ``settings.ENDPOINTS``).
        response_format: ``xml`` (default) or ``json``.
        auth_in_query: Send the key in the query string (old tenants) instead of the header.
        requests_per_minute: Shared rate budget (0 = unlimited); the vendor allows 100.
        max_workers: Requests in flight at once.
        page_limit: Records per page (the API's maximum is 1000).
        collection_refresh_days: Read the undated collection family (collections, listings, their
            users and teams: 1 + C + 2L requests) every run (0) or once every this many days. Ignored
            when ``resources`` names them: what is asked for is read.
        store_login_keys: Load the users' ``LoginKey`` (a URL that logs its user in without a password);
            by default the column is loaded as NULL.
    """
    source_name = source_name or dlt.config.get("sources.litmos.source")
    # Everything that needs no network is checked now, so a bad argument fails when the source is built.
    _check_connection(api_key, base_url, source_name, response_format, requests_per_minute)
    tables = select_resources(resources)
    start = parse_user_date(start_date, "start_date")
    end = parse_user_date(end_date, "end_date")
    if start and end and end < start:
        raise LitmosConfigError(f"bad end_date {end:%Y-%m-%d}: it is before the start date {start:%Y-%m-%d}")
    if lookback_days is None or lookback_days < 0:
        raise LitmosConfigError(f"bad lookback_days {lookback_days!r}: use 0 or more days")
    if not 1 <= page_limit <= 1000:
        raise LitmosConfigError(f"bad page_limit {page_limit}: the API allows 1..1000")
    if collection_refresh_days is None or collection_refresh_days < 0:
        raise LitmosConfigError(
            f"bad collection_refresh_days {collection_refresh_days!r}: use 0 (every run) or a number of days")
    if resources:  # named explicitly: read them now
        collection_refresh_days = 0
    # The client, the server's clock, the plan and the thread pools wait for the first iteration.
    connect = functools.partial(make_client, api_key, base_url, source_name, response_format=response_format,
                                auth_in_query=auth_in_query, requests_per_minute=requests_per_minute,
                                max_workers=max_workers)
    run = _LazyRun(tables, connect, dict(start_date=start_date, end_date=end_date,
                                         lookback_days=lookback_days, page_limit=page_limit,
                                         max_workers=max_workers,
                                         collection_refresh_days=int(collection_refresh_days),
                                         store_login_keys=bool(store_login_keys)))
    return [_resource(ENDPOINTS[table], run.pages(table)) for table in tables]


class _LazyRun:
    """The extraction behind one ``litmos_source`` instance, opened when dlt first iterates a resource.

    The first resource generator to run (under a lock) reads the dlt source state, builds the client,
    probes the server's clock, plans the resources dlt is extracting and starts fetching; the others
    join that session. The session (thread pools and HTTP connections) is closed when the last of
    them finishes, at once when one fails, and when dlt closes them all early. Each extraction (each
    ``pipeline.run`` of the source, keyed by its load id) gets a fresh session.
    """

    def __init__(self, tables: list[str], connect: Callable[[], LitmosClient], options: dict[str, Any]) -> None:
        self.tables = tables
        self._connect = connect
        self._options = options
        self._lock = threading.Lock()
        self._session: SyncSession | None = None
        self._items: dict[str, Iterator[Any]] = {}
        self._key: Any = None  # the extraction the bookkeeping below belongs to
        self._over = True  # no extraction in progress: the next resource to start begins one
        self._wanted: set[str] = set()  # resources the current extraction iterates
        self._finished: set[str] = set()
        self._active: set[str] = set()

    def pages(self, table: str) -> Callable[[], Iterator[Any]]:
        """A parameterless generator function yielding ``table``'s pages (dlt calls it per extraction)."""

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
                self._leave(table, outcome)

        pages.__name__ = pages.__qualname__ = table
        return pages

    def _enter(self, table: str) -> Iterator[Any]:
        key = _extraction_key()
        with self._lock:
            if self._over or table in self._finished or key != self._key:
                self._close_locked(cancel=True)  # a session left over from an abandoned extraction
                self._key, self._over = key, False
                self._wanted, self._finished, self._active = _selected(self.tables, table), set(), set()
            if self._session is None:
                self._open_locked([t for t in self.tables if t in self._wanted and t not in self._finished])
            self._active.add(table)
            return self._items.pop(table, None) or iter(())

    def _open_locked(self, tables: list[str]) -> None:
        try:
            state = dlt.current.source_state()
        except Exception:  # not inside a dlt extraction: behave as a first run
            state = {}
        client = self._connect()
        session = None
        try:
            session = open_session(client, resources=tables, **session_state(state), **self._options)
            self._items = session.items_for(session.submit(0))
        except BaseException:
            self._over, self._items = True, {}
            if session is not None:
                session.close(cancel=True)
            else:
                client.close()
            raise
        self._session = session

    def _leave(self, table: str, outcome: str) -> None:
        with self._lock:
            self._active.discard(table)
            self._finished.add(table)
            if outcome == "error":  # dlt stops this extraction: stop fetching for the others too
                self._over = True
                self._close_locked(cancel=True)
            elif not self._wanted - self._finished:  # the last resource of the extraction is done
                self._over = True
                self._close_locked(cancel=outcome != "done")
            elif outcome == "closed" and not self._active:
                # dlt closed the generators (an error elsewhere, or add_limit with nothing else running):
                # stop now; a resource of the same extraction that starts later opens a new session.
                self._over = self._key is None
                self._close_locked(cancel=True)

    def _close_locked(self, cancel: bool) -> None:
        session, self._session, self._items = self._session, None, {}
        if session is not None:
            session.close(cancel=cancel)


def _extraction_key() -> Any:
    """The load id of the dlt extraction running now (None when iterated outside a pipeline)."""
    try:
        return dlt.current.load_package_state()["load_id"]
    except Exception:
        return None


def _selected(tables: list[str], table: str) -> set[str]:
    """The resources of this source that the running dlt extraction iterates (``with_resources``)."""
    try:
        selected = set(dlt.current.source().selected_resources) & set(tables)
    except Exception:  # not inside a dlt extraction
        selected = set(tables)
    return selected | {table}
