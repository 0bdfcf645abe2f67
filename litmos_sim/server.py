"""HTTP front end: a threaded stdlib server whose Date header comes from the simulated clock.

The server hands each request to an *app*: `SingleOrgApp` (one Simulator, today's behaviour) or a
`litmos_sim.fleet.Fleet` (many orgs, picked by the request's API key). An app provides:

    resolve(params, headers) -> Simulator | None   the org that answers an API request (None = no such key)
    reject(method, path, params) -> Served          the answer when resolve() found none
    control(method, path, query, body) -> (Simulator | None, status, payload)   a /_sim/ request
    clock_sim -> Simulator                          whose clock writes Date when no org was picked
"""
from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import control
from .api import parse_query
from .timefmt import http_date


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like IIS
    # Headers and body are two writes: with Nagle's algorithm the body waits for the client's delayed
    # ACK (40 ms on Linux), which made every simulated request take 45 ms on loopback.
    disable_nagle_algorithm = True
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - quiet; access logs could leak a query apikey
        return

    _clock_sim = None  # the org whose clock writes this request's Date header

    def date_time_string(self, timestamp=None):
        # The pipeline reads "server now" from Date: it must be the simulated clock of the request's org.
        sim = self._clock_sim or self.server.app.clock_sim
        return http_date(sim.now_ms())

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        self._clock_sim = None
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if parts.path == control.CONTROL_PREFIX or parts.path.startswith(control.CONTROL_PREFIX + "/"):
            self._clock_sim, status, payload = app.control(method, parts.path, parts.query, body)
            self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8")
            return
        params = parse_query(parts.query)
        sim = app.resolve(params, self.headers)
        if sim is None:
            served = app.reject(method, parts.path, params)
        else:
            self._clock_sim = sim
            served = sim.serve(method, parts.path, parts.query, self.headers)
        if served.delay_s > 0:
            time.sleep(served.delay_s)
        if served.response is None:
            self.close_connection = True  # dropped: no status line, the client sees a reset/EOF
            return
        resp = served.response
        self._send(resp.status, served.body, resp.content_type, resp.headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self):  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self):  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SingleOrgApp:
    """One Simulator behind the server: every API request goes to it (it checks the key itself)."""

    def __init__(self, sim):
        self.sim = sim

    @property
    def clock_sim(self):
        """The one org's clock writes every Date header."""
        return self.sim

    def resolve(self, params, headers):
        """Always the one org: a wrong key is answered (and logged) by the org, as it always was."""
        return self.sim

    def reject(self, method, path, params):  # pragma: no cover - resolve() never returns None
        raise AssertionError("a single-org server never rejects before its org")

    def control(self, method: str, path: str, query: str, body: bytes):
        """/_sim/<action> of the one org."""
        status, payload = control.handle(self.sim, method, path, query, body)
        return self.sim, status, payload


def make_app_server(app, host: str, port: int) -> _Server:
    """A bound (not yet serving) HTTP server for an app (see the module docstring)."""
    server = _Server((host, port), _Handler)
    server.app = app
    return server


def make_server(sim, host: str, port: int) -> _Server:
    """A bound (not yet serving) HTTP server for one simulator `sim`."""
    server = make_app_server(SingleOrgApp(sim), host, port)
    server.sim = sim
    return server
