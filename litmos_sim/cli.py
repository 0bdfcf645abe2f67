"""`litmos-sim` command line: serve a simulated Litmos org until stopped."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from .config import DEFAULT_API_KEY, SimConfig


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of `litmos-sim`."""
    parser = argparse.ArgumentParser(prog="litmos-sim", description="Litmos API simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a seeded org over HTTP until Ctrl-C / SIGTERM")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8085, help="TCP port, 0 = a free one (default 8085)")
    serve.add_argument("--seed", type=int, default=1, help="data seed (default 1)")
    serve.add_argument("--scale", type=int, default=200, help="number of users (default 200)")
    serve.add_argument("--api-key", default=None, help=f"accepted API key (default {DEFAULT_API_KEY!r}, printed)")
    serve.add_argument("--history-days", type=int, default=60,
                       help="days of history, i.e. the org's age: it is founded on the first day (default 60)")
    serve.add_argument("--rate-limit", type=int, default=100,
                       help="requests per minute per key, 0 = unlimited (default 100)")
    serve.add_argument("--rate-limit-status", type=int, default=503, choices=(503, 429),
                       help="status when rate limited (default 503, the vendor's)")
    serve.add_argument("--latency-ms", type=int, default=0, help="fixed latency per response")
    serve.add_argument("--latency-jitter-ms", type=int, default=0, help="extra random latency, uniform")
    serve.add_argument("--fail-rate", type=float, default=0.0, help="share of 5xx responses")
    serve.add_argument("--truncate-rate", type=float, default=0.0, help="share of truncated bodies")
    serve.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped connections")
    serve.add_argument("--day-granular-to", action="store_true", help="compare 'to' at day granularity")
    serve.add_argument("--no-oversize-pages", action="store_true", help="never return more than limit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `litmos-sim` console script; first stdout line is the base URL."""
    args = build_parser().parse_args(argv)
    try:
        config = SimConfig(
            seed=args.seed, scale=args.scale, api_key=args.api_key or DEFAULT_API_KEY,
            history_days=args.history_days, rate_limit=args.rate_limit or None,
            rate_limit_status=args.rate_limit_status, latency_ms=args.latency_ms,
            latency_jitter_ms=args.latency_jitter_ms, fail_rate=args.fail_rate, truncate_rate=args.truncate_rate,
            drop_rate=args.drop_rate, day_granular_to=args.day_granular_to,
            oversize_pages=not args.no_oversize_pages)
    except ValueError as exc:
        print(f"litmos-sim: error: {exc}", file=sys.stderr)
        return 2
    from .simulator import Simulator

    started = time.monotonic()
    sim = Simulator(config)
    try:
        sim.start(args.host, args.port)
    except OSError as exc:
        print(f"litmos-sim: error: cannot listen on {args.host}:{args.port} ({exc.strerror}); "
              "pick another --port (0 = any free port)", file=sys.stderr)
        return 2
    host = "127.0.0.1" if args.host in ("0.0.0.0", "127.0.0.1") else args.host
    print(f"http://{host}:{sim.port}/v1.svc", flush=True)
    if args.api_key is None:
        print(f"api key: {DEFAULT_API_KEY} (default; pass --api-key to choose one)", flush=True)
    print(f"org: seed={config.seed} scale={config.scale} users, history {config.history_days} days, "
          f"now {sim.now().isoformat()}, built in {time.monotonic() - started:.1f}s; "
          f"control endpoints under http://{host}:{sim.port}/_sim/", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
