"""A tiny scripted Litmos stand-in for tests that need exact statuses/bodies (not a simulator).

Each test gives a ``handler(path, params, headers) -> (status, body, headers)``; the server records every
request. The server's ``Date`` header comes from ``now`` so tests control the server clock.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

EMPTY = b'<Items xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'
"""An empty page: the server sends it as the requested endpoint's own empty root (``<Teams .../>``), as
the API does, since the client rejects a list whose root is not the endpoint's."""


def empty_page(path: str) -> bytes:
    """The empty XML list of the endpoint serving ``path`` (``/org/teams`` -> ``<Teams .../>``)."""
    from sources.litmos.settings import ENDPOINTS

    for endpoint in ENDPOINTS.values():
        pattern = "^" + re.escape(endpoint.path).replace(re.escape("{parent}"), "[^/]+") + "$"
        if re.match(pattern, path, re.IGNORECASE):
            return f'<{endpoint.root} xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'.encode()
    return EMPTY


@dataclass
class Recorded:
    path: str
    params: dict
    headers: dict


@dataclass
class FakeApi:
    handler: Callable
    now: datetime = field(default_factory=lambda: datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc))
    requests: list = field(default_factory=list)
    base_url: str = ""


@contextmanager
def fake_api(handler: Callable, now: datetime | None = None):
    api = FakeApi(handler, now or datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc))
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):  # keep test output quiet
            pass

        def do_GET(self):
            parts = urlsplit(self.path)
            path = parts.path.removeprefix("/v1.svc")
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            with lock:
                api.requests.append(Recorded(path, params, dict(self.headers)))
            status, body, headers = api.handler(path, params, dict(self.headers))
            if body == EMPTY:
                body = empty_page(path)
            self.send_response(status)
            self.send_header("Date", format_datetime(api.now, usegmt=True))
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if not headers or "Content-Type" not in headers:
                self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def date_time_string(self, timestamp=None):
            return format_datetime(api.now, usegmt=True)

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1.svc"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
