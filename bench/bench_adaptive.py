"""Issue 12.4: wall time of a job when the key's real limit is below the budget, vs the server's floor.

A purpose-built server refuses (503, no Retry-After, as the vendor does) any request beyond ``L`` accepted
in a sliding period, like the simulator's limiter. The real client (4 workers, the default 98/minute
budget, adaptive) sends a job of ``--requests`` GETs; the floor is ``requests / L`` periods. Time is scaled:
the "minute" is ``--period`` seconds (6 s: ten times faster), and the client's period and backoffs are
scaled with it, so the ratio is the one a real 60-second minute gives. ``--baseline`` also runs the fixed
budget of the old client (each 503 holds every worker for its own backoff) for comparison.

    python -m bench adaptive [--rates 10,25,50,100] [--requests 121] [--period 6] [--baseline]
"""
from __future__ import annotations

import argparse
import threading
import time
from collections import deque
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from bench.common import command_line, write_run
from sources.litmos.budget import DEFAULT_REQUESTS_PER_MINUTE, RateLimiter
from sources.litmos.client import LitmosClient
from sources.litmos.exceptions import LitmosError

DESCRIPTION = "issue 12.4: job wall time vs the server's floor when the key allows 10-100/min (adaptive budget)"
BODY = b'<Teams xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Team><Id>t1</Id></Team></Teams>'
REFUSED = b"The API rating limit has been exceeded"


class _Limit:
    def __init__(self, limit: int, period_s: float) -> None:
        self.limit, self.period_s = limit, period_s
        self.accepted: deque[float] = deque()
        self.lock = threading.Lock()
        self.served = self.refused = 0

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            while self.accepted and now - self.accepted[0] >= self.period_s:
                self.accepted.popleft()
            if len(self.accepted) >= self.limit:
                self.refused += 1
                return False
            self.accepted.append(now)
            self.served += 1
            return True


@contextmanager
def _server(limit: _Limit, latency_s: float) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # noqa: D401 - quiet
            return

        def do_GET(self):  # noqa: N802
            ok = limit.take()
            if latency_s:
                time.sleep(latency_s)
            body = BODY if ok else REFUSED
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "text/xml; charset=utf-8" if ok else "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1.svc"
    finally:
        server.shutdown()
        server.server_close()


def run_job(limit_per_period: int, requests: int, period_s: float, workers: int, adaptive: bool,
            latency_s: float) -> dict:
    """Sends ``requests`` GETs from ``workers`` threads; returns wall, floor, refusals and failures."""
    limit = _Limit(limit_per_period, period_s)
    scale = period_s / 60.0
    with _server(limit, latency_s) as base_url:
        client = LitmosClient(base_url, "bench-key", "bench",
                              limiter=RateLimiter(DEFAULT_REQUESTS_PER_MINUTE, period_s=period_s, adaptive=adaptive),
                              backoff_base=1.0 * scale, backoff_max=60.0 * scale, pool_size=workers)
        jobs = iter(range(requests))
        jobs_lock = threading.Lock()
        failed: list[str] = []

        def worker() -> None:
            while True:
                with jobs_lock:
                    if next(jobs, None) is None:
                        return
                try:
                    client.get("/org/teams", {"start": "0", "limit": "1000"}, label="teams")
                except LitmosError as exc:
                    failed.append(type(exc).__name__)

        began = time.monotonic()
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - began
    floor = requests / limit_per_period * period_s
    return {"limit": limit_per_period, "wall": wall, "floor": floor, "ratio": wall / floor,
            "refused": limit.refused, "failed": len(failed), "final_rate": client.limiter.rate * period_s}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench adaptive", description=DESCRIPTION)
    parser.add_argument("--rates", default="10,25,50,100", help="server limits, requests per minute")
    parser.add_argument("--requests", type=int, default=121)
    parser.add_argument("--period", type=float, default=6.0, help="seconds that stand for one minute")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="server latency (in scaled time)")
    parser.add_argument("--baseline", action="store_true", help="also run the fixed (non-adaptive) budget")
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    modes = [True, False] if args.baseline else [True]
    scale = 60.0 / args.period
    lines = [f"{args.requests} requests, {args.workers} workers, budget {DEFAULT_REQUESTS_PER_MINUTE}/min, "
             f"time scaled x{scale:g} (figures below in real minutes)",
             f"{'budget':9s} {'server/min':>10s} {'floor min':>9s} {'wall min':>8s} {'ratio':>6s} {'503s':>5s} "
             f"{'failed':>6s} {'final/min':>9s}"]
    print("\n".join(lines), flush=True)
    worst = 0.0
    for adaptive in modes:
        for rate in rates:
            r = run_job(rate, args.requests, args.period, args.workers, adaptive, args.latency_ms / 1000 / scale)
            if adaptive:
                worst = max(worst, r["ratio"])
            lines.append(f"{'adaptive' if adaptive else 'fixed':9s} {rate:10d} {r['floor'] * scale / 60:9.2f} "
                         f"{r['wall'] * scale / 60:8.2f} {r['ratio']:6.2f} {r['refused']:5d} {r['failed']:6d} "
                         f"{r['final_rate']:9.1f}")
            print(lines[-1], flush=True)
    verdict = f"adaptive worst ratio to the server's floor: {worst:.2f} (target <= 1.30)"
    table = "\n".join(lines)
    write_run("adaptive", "Issue 12: adaptive budget vs the key's real limit",
              f"Command: `{command_line()}`\n\n```\n{table}\n```\n\n"
              f"- **{'MET' if worst <= 1.3 else 'NOT MET'}** {verdict}")
    print(verdict)
    return 0 if worst <= 1.3 else 1

if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
