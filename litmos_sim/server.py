"""HTTP front end: a threaded stdlib server whose Date header comes from the simulated clock."""
from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import control
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

    def date_time_string(self, timestamp=None):
        # The pipeline reads "server now" from Date: it must be the simulated clock.
        return http_date(self.server.sim.now_ms())

    def _dispatch(self, method: str) -> None:
        sim = self.server.sim
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if parts.path == control.CONTROL_PREFIX or parts.path.startswith(control.CONTROL_PREFIX + "/"):
            status, payload = control.handle(sim, method, parts.path, parts.query, body)
            self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8")
            return
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


def make_server(sim, host: str, port: int) -> _Server:
    """A bound (not yet serving) HTTP server for `sim`."""
    server = _Server((host, port), _Handler)
    server.sim = sim
    return server
