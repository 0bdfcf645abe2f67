"""dlt source for the Litmos LMS API: every read endpoint as a typed, incrementally merged table.

Use it directly (one batch; cursors kept in the dlt source state)::

    pipeline = dlt.pipeline("litmos", destination="duckdb", dataset_name="litmos_raw")
    pipeline.run(litmos_source(start_date="2025-11-23"))

or through ``pipelines.sync.sync`` which runs the same resources in committed batches of windows.
The endpoint table that drives every resource is :mod:`sources.litmos.settings`.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

import dlt

from .client import LitmosClient, RateLimiter
from .exceptions import LitmosConfigError, LitmosError
from .session import BatchWork, SyncSession, cursors_from_state, select_resources
from .settings import DEFAULT_BASE_URL, DEFAULT_SOURCE_NAME, ENDPOINTS, PAGE_LIMIT
from .windows import format_api_date, parse_user_date

__all__ = ["litmos_source", "LitmosError", "ENDPOINTS", "open_session", "batch_source", "probe_server_now"]

log = logging.getLogger(__name__)

SOURCE_NAME = "litmos"
"""dlt source name and config section (``sources.litmos.*``); cursors live in this source's state."""


def probe_server_now(client: LitmosClient) -> datetime:
    """Makes one cheap request and returns the server's clock from its HTTP ``Date`` header.

    It also checks the key and host before any data is touched. Falls back to the local clock (with a
    warning) only when the server sends no ``Date``.
    """
    # A one-day, day-aligned window with the usual limit: it looks like any other request in a log.
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"since": format_api_date(today), "to": format_api_date(today + timedelta(days=1)),
              "start": "0", "limit": str(PAGE_LIMIT)}
    response, _ = client.get("/org/teams", params, label="_probe")
    if response.server_date is None:
        log.warning("the API sent no Date header; using the local clock as the server's now")
        return datetime.now(timezone.utc)
    return response.server_date


def make_client(api_key: str | None, base_url: str | None, source_name: str | None, *,
                response_format: str = "xml", auth_in_query: bool = False, requests_per_minute: float = 90,
                max_workers: int = 8, max_retries: int = 6, backoff_base: float = 1.0,
                on_event: Callable[[Any], None] | None = None) -> LitmosClient:
    """Validates the connection settings and builds the client with its shared rate budget.

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
    return LitmosClient(base_url, api_key, source_name, response_format=response_format,
                        auth_in_query=auth_in_query, limiter=RateLimiter(requests_per_minute),
                        max_retries=max_retries, backoff_base=backoff_base, pool_size=max_workers + 2,
                        on_event=on_event)


def open_session(client: LitmosClient, *, cursors: dict[str, datetime | None], resources=None,
                 start_date=None, end_date=None, lookback_days: float = 1, page_limit: int = PAGE_LIMIT,
                 max_workers: int = 8, windows_per_batch: int | None = None,
                 server_now: datetime | None = None, emit: Callable[[Any], None] | None = None,
                 backfills: dict[str, Any] | None = None) -> SyncSession:
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
                       backfills=backfills)


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
    requests_per_minute: float = 90,
    max_workers: int = 8,
    page_limit: int = PAGE_LIMIT,
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
    """
    source_name = source_name or dlt.config.get("sources.litmos.source")
    client = make_client(api_key, base_url, source_name, response_format=response_format,
                         auth_in_query=auth_in_query, requests_per_minute=requests_per_minute,
                         max_workers=max_workers)
    try:
        state = dlt.current.source_state()
    except Exception:  # no active pipeline: behave as a first run
        state = {}
    session = open_session(client, cursors=cursors_from_state(state), resources=resources,
                           start_date=start_date, end_date=end_date, lookback_days=lookback_days,
                           page_limit=page_limit, max_workers=max_workers)
    return session.resources_for(session.submit(0))
