"""Serving faults and limits: rate limit per key, latency, 5xx errors, truncated bodies, dropped connections.

Faults only ever replace or damage a response that would have succeeded; they never touch data. Their
random draws use their own generator, so enabling them does not change what the org contains.
"""
from __future__ import annotations

import random
import time
from collections import deque

from .api import TEXT_TYPE, Response

RATE_LIMIT_MESSAGE = "The API rating limit has been exceeded"
_HTML_500 = ("<!DOCTYPE html><html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' "
             "Application.</h1><h2><i>Runtime Error</i></h2><p>An application error occurred on the server."
             "</p></body></html>")
_HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
_HTML_504 = "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>"
HTML_TYPE = "text/html; charset=utf-8"


class RateLimiter:
    """Sliding 60-second window of accepted requests per API key, on the real (monotonic) clock."""

    def __init__(self):
        self._seen: dict[str, deque] = {}

    def check(self, key: str, per_minute: int | None, now: float | None = None) -> float | None:
        """Record a request; None when allowed, else seconds until a slot frees up."""
        if per_minute is None:
            return None
        now = time.monotonic() if now is None else now
        window = self._seen.setdefault(key, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= per_minute:
            return max(0.0, 60.0 - (now - window[0]))
        window.append(now)
        return None

    def reset(self) -> None:
        """Forget every key's history."""
        self._seen.clear()


def rate_limited(status: int, retry_after: float) -> Response:
    """The vendor's 503 (or 429 with Retry-After when configured)."""
    resp = Response(status, RATE_LIMIT_MESSAGE, TEXT_TYPE)
    if status == 429:
        resp.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return resp


class FaultInjector:
    """Draws, per request, whether a successful response is replaced by a fault."""

    def __init__(self, seed: int):
        self.rng = random.Random(f"faults/{seed}")

    def draw(self, fail_rate: float, truncate_rate: float, drop_rate: float) -> str | None:
        """'drop', 'error', 'truncate' or None."""
        roll = self.rng.random()
        if roll < drop_rate:
            return "drop"
        if roll < drop_rate + fail_rate:
            return "error"
        if roll < drop_rate + fail_rate + truncate_rate:
            return "truncate"
        return None

    def error_response(self) -> Response:
        """A 5xx: mostly IIS/ASP.NET HTML pages, sometimes a plain 503."""
        choice = self.rng.choice(("500", "500", "502", "503", "504"))
        if choice == "500":
            return Response(500, _HTML_500, HTML_TYPE)
        if choice == "502":
            return Response(502, _HTML_502, HTML_TYPE)
        if choice == "504":
            return Response(504, _HTML_504, HTML_TYPE)
        return Response(503, "Service Unavailable", TEXT_TYPE)

    def truncate(self, body: bytes) -> bytes:
        """The body cut somewhere between 10% and 90% of its length (at least one byte removed)."""
        if len(body) < 2:
            return b""
        cut = int(len(body) * self.rng.uniform(0.1, 0.9))
        return body[:max(0, min(cut, len(body) - 1))]

    def latency(self, fixed_ms: int, jitter_ms: int) -> float:
        """Seconds to wait before answering."""
        extra = self.rng.uniform(0, jitter_ms) if jitter_ms else 0.0
        return (fixed_ms + extra) / 1000.0
