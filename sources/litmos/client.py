"""HTTP client for the Litmos API: auth, the shared rate budget (budget.py), retries with backoff.

Transient failures (5xx, timeouts, dropped connections, truncated bodies) are retried; other 4xx fail at
once. Redirects are followed only within the configured origin. The key is scrubbed from logs and errors.
"""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from .budget import RateLimiter
from .events import RateWait, RequestRetried
from .exceptions import (
    Cancelled,
    LitmosConnectionError,
    LitmosMalformedResponseError,
    LitmosRedirectError,
    LitmosUnavailableError,
    RedactingFilter,
    redact,
)
from .request_errors import SINGLE_ORG_ENV, base_url_advice, client_error, describe_network_error, give_up, snippet
from .stats import RunStats

log = logging.getLogger(__name__)

REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
#: Same-origin redirects followed per attempt (a trailing slash or a case fix needs one).
MAX_REDIRECTS = 3


@dataclass
class Response:
    body: bytes
    server_date: datetime | None


class LitmosClient:
    """GETs Litmos endpoints under a shared rate budget with bounded retries.

    Options as in :class:`~sources.litmos.options.LitmosOptions`; ``backoff_base`` doubles per retry (with
    jitter) up to ``backoff_max``; ``pool_size`` is the HTTP connections kept per host.
    """

    def __init__(self, base_url: str, api_key: str, source_name: str, *, response_format: str = "xml",
                 auth_in_query: bool = False, limiter: RateLimiter | None = None, max_retries: int = 6,
                 backoff_base: float = 1.0, backoff_max: float = 60.0, timeout: tuple[float, float] = (10.0, 120.0),
                 pool_size: int = 8, on_event: Callable[[Any], None] | None = None,
                 env_prefix: str = SINGLE_ORG_ENV) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.source_name = source_name
        self.response_format = response_format
        self.auth_in_query = auth_in_query
        self.limiter = limiter or RateLimiter(0)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.pool_size = pool_size
        self.on_event = on_event
        self.env_prefix = env_prefix  # the settings its error messages name (a tenant's own)
        self.stats = RunStats()  # the run's one stats object: the fetcher and the session count into it too
        self.cancelled = threading.Event()
        self._local = threading.local()
        self._http_lock = threading.Lock()
        self._http_sessions: list[requests.Session] = []  # every thread's, so close() reaches them all
        _redactor.add(api_key)
        for name in ("urllib3.connectionpool", "requests", __name__):  # urllib3 logs query strings
            if _redactor not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(_redactor)

    def cancel(self) -> None:
        """Ends waits for the rate budget and retry backoffs with :class:`Cancelled`."""
        self.cancelled.set()
        self.limiter.cancel()

    def __repr__(self) -> str:  # never the key (dlt traces, debuggers)
        return f"LitmosClient(base_url={self.base_url!r})"

    def _session(self) -> requests.Session:
        # One Session per thread: requests does not promise thread safety for a shared one.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._http_lock:
                self._http_sessions.append(session)
        return session

    def close(self) -> None:
        """Closes every pooled HTTP connection (a later request opens a new one)."""
        with self._http_lock:
            sessions, self._http_sessions = self._http_sessions, []
        if getattr(self._local, "session", None) in sessions:
            del self._local.session
        for session in sessions:
            session.close()

    def get(self, path: str, params: dict[str, Any] | None = None, *, label: str = "",
            validate: Callable[[bytes, datetime | None], Any] | None = None, priority: int = 0
            ) -> tuple[Response, Any]:
        """GETs ``path`` and returns the response plus ``validate(body, server_date)``.

        A :class:`LitmosMalformedResponseError` from ``validate`` is retried unless not ``transient``;
        ``priority`` orders the request's turn in the rate budget.

        Raises:
            LitmosError: One of the subclasses in request_errors.py, after the retries allowed.
        """
        url = self.base_url + path
        query = {"source": self.source_name, **(params or {})}
        if self.response_format == "json":
            query["format"] = "json"
        # The docs say every request must name its format in Content-Type ("indicates which format the
        # response will be for GET requests"); a commenter found Accept was what worked: send both.
        media = "application/json" if self.response_format == "json" else "text/xml"
        headers = {"Accept": media, "Content-Type": media}
        if self.auth_in_query:
            query["apikey"] = self._api_key
        else:
            headers["apikey"] = self._api_key
        where = f"GET {path}"
        attempt = 0
        strikes = 0  # attempts counted against the retry allowance
        served_mark = -1  # the run's served-request count at this request's last refusal
        last_problem = ""
        kind: type[Exception] = LitmosUnavailableError
        while True:
            if self.cancelled.is_set():
                raise Cancelled("run cancelled")
            waited = self.limiter.acquire(priority)
            if waited > 0.05 and self.on_event:
                self.on_event(RateWait(resource=label, seconds=waited))
            sent_at = self.limiter.clock()
            attempt += 1
            refused = False
            retry_after: float | None = None
            try:
                resp = self._send(where, url, query, headers, label, attempt)
                body = resp.content  # reads the whole body: a dropped connection raises here
            except requests.exceptions.RequestException as exc:
                last_problem = describe_network_error(exc)
                kind = LitmosConnectionError
            else:
                status = resp.status_code
                refused = status in (429, 503)
                if not refused:
                    self.limiter.accepted(sent_at)
                if status == 200 and "text/html" in resp.headers.get("Content-Type", ""):
                    last_problem = "HTTP 200 with an HTML page instead of data"
                    kind = LitmosMalformedResponseError
                elif status == 200:
                    try:
                        parsed = validate(body, _server_date(resp)) if validate else None
                    except LitmosMalformedResponseError as exc:
                        last_problem = str(exc)
                        kind = LitmosMalformedResponseError
                        if not getattr(exc, "transient", True):  # the same bytes again: retrying cannot help
                            self.stats.count(label, requests=attempt, retries=attempt - 1)
                            raise give_up(kind, where, self.base_url, attempt, last_problem, self.env_prefix) from None
                    else:
                        self.stats.count(label, requests=attempt, retries=attempt - 1)
                        return Response(body, _server_date(resp)), parsed
                elif status == 429 or status >= 500:
                    last_problem = f"HTTP {status} {snippet(body, self._api_key)}".strip()
                    kind = LitmosUnavailableError
                    if refused:
                        retry_after = _retry_after(resp)
                else:
                    self.stats.count(label, requests=attempt, retries=attempt - 1)
                    raise client_error(where, status, body, self._api_key, self.env_prefix) from None
            adapting = refused and self.limiter.refused(sent_at, retry_after or None)
            served = self.limiter.accepted_total
            # A refusal while the run's other requests are served means our rate is being lowered to
            # the key's real limit: not this request's failure, so it costs no retry (up to a bound).
            if not (adapting and served > served_mark >= 0 and attempt <= self.max_retries * 8):
                strikes += 1
            if refused:
                served_mark = served
            # The vendor's rate limit counts per key over a minute, possibly against another client of
            # the same key: 503/429 get twice the retries (about six minutes with the default backoff).
            allowed = self.max_retries * 2 if refused else self.max_retries
            if strikes > allowed:
                self.stats.count(label, requests=attempt, retries=attempt - 1)
                raise give_up(kind, where, self.base_url, attempt, last_problem, self.env_prefix) from None
            if adapting and strikes <= 1:
                delay = 0.0  # the lowered shared rate (and any Retry-After hold) paces the retry
            else:
                delay = min(self.backoff_max, self.backoff_base * (2 ** (max(strikes, 1) - 1)))
                delay *= random.uniform(0.5, 1.5)  # jitter: workers that failed together retry apart
            if retry_after is not None and not adapting:
                delay = max(delay, min(retry_after, 120.0))
                # 503/429 mean the key's budget is spent (maybe by another client): hold every worker.
                self.limiter.pause(delay)
            log.info("%s: %s; retry %d/%d in %.1fs", where, last_problem, attempt, allowed, delay)
            if self.on_event:
                self.on_event(RequestRetried(resource=label, path=path, attempt=attempt, reason=last_problem,
                                             delay_s=delay))
            if self.cancelled.wait(delay):  # Ctrl-C or a failed run must not sit out a minute of backoff
                raise Cancelled("run cancelled")

    def _send(self, where: str, url: str, query: dict[str, Any], headers: dict[str, str], label: str,
              attempt: int) -> requests.Response:
        """One attempt: the GET plus its same-origin redirects (requests would send ``apikey`` anywhere)."""
        params: dict[str, Any] | None = query
        for hop in range(MAX_REDIRECTS + 1):
            if hop:
                self.limiter.acquire()  # every hop is a request the vendor counts against the key
            resp = self._session().get(url, params=params, headers=headers, timeout=self.timeout,
                                       allow_redirects=False)
            if resp.status_code not in REDIRECT_STATUS:
                return resp
            resp.close()
            location = resp.headers.get("Location", "")
            target = urljoin(resp.url, location)
            if not location or not same_origin(self.base_url, target):
                self.stats.count(label, requests=attempt + hop, retries=attempt - 1)
                raise LitmosRedirectError(
                    f"{where}: HTTP {resp.status_code} redirect to another host ({_netloc(target) or 'none given'}, "
                    f"not {_netloc(self.base_url)}); the API key is only sent to the configured host - "
                    f"{base_url_advice(self.env_prefix)}", resp.status_code)
            # A Location with a query is taken as given; without one the original parameters go along.
            params = None if urlsplit(target).query else query
            url = target
        self.stats.count(label, requests=attempt + MAX_REDIRECTS, retries=attempt - 1)
        last = redact(urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query else ""), self._api_key)
        raise LitmosRedirectError(
            f"{where}: more than {MAX_REDIRECTS} redirects (the last to {last[:120]}); {base_url_advice(self.env_prefix)}",
            resp.status_code)


def same_origin(base_url: str, url: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base_url`` (default ports filled in)."""
    a, b = urlsplit(base_url), urlsplit(url)
    try:
        return (a.scheme.lower(), (a.hostname or "").lower(), a.port or _DEFAULT_PORTS.get(a.scheme.lower())) == (
            b.scheme.lower(), (b.hostname or "").lower(), b.port or _DEFAULT_PORTS.get(b.scheme.lower()))
    except ValueError:  # a port that is not a number
        return False


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _netloc(url: str) -> str:
    """Host[:port] of a URL, without any user:password part."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def _server_date(resp: requests.Response) -> datetime | None:
    value = resp.headers.get("Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _retry_after(resp: requests.Response) -> float:
    """Retry-After of a 429/503 in seconds (Litmos never sends it), else 0."""
    value = resp.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return 0.0


_redactor = RedactingFilter()
