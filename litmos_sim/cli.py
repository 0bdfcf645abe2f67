"""`litmos-sim` command line: serve a simulated Litmos org (or several, one per API key) until stopped."""
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
    serve.add_argument("--orgs", type=int, default=None, metavar="N",
                       help="serve N orgs org01..orgNN, keys litmos-sim-key-<name>, seeds --seed + 0..N-1, "
                            "every other flag applied to each")
    serve.add_argument("--orgs-file", default=None, metavar="FILE",
                       help="serve the orgs of a TOML file (one [[orgs]] table each; docs/simulator-orgs.md)")
    return parser


def _base_config(args) -> SimConfig:
    return SimConfig(
        seed=args.seed, scale=args.scale, api_key=args.api_key or DEFAULT_API_KEY,
        history_days=args.history_days, rate_limit=args.rate_limit or None,
        rate_limit_status=args.rate_limit_status, latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms, fail_rate=args.fail_rate, truncate_rate=args.truncate_rate,
        drop_rate=args.drop_rate, day_granular_to=args.day_granular_to,
        oversize_pages=not args.no_oversize_pages)


def _fleet_orgs(args, base: SimConfig) -> tuple[list[str], list[SimConfig]]:
    """Names and configs of --orgs / --orgs-file (ValueError with a one-line message)."""
    from .fleet import fleet_configs
    from .orgs_file import load_orgs_file

    if args.orgs is not None and args.orgs_file is not None:
        raise ValueError("--orgs and --orgs-file exclude each other; use one")
    if args.api_key is not None:
        raise ValueError("--api-key is for a single org; with --orgs each org's key is litmos-sim-key-<name> "
                         "(set api_key per org in an --orgs-file)")
    if args.orgs_file is not None:
        return load_orgs_file(args.orgs_file, base)
    if args.orgs < 1:
        raise ValueError(f"--orgs must be an integer >= 1 (the number of orgs), got {args.orgs}")
    return fleet_configs(args.orgs, base)


def _wait_for_signal() -> threading.Event:
    # Installed before the first line is printed: a caller may send SIGTERM as soon as it reads it.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _listen_error(args, exc: OSError) -> int:
    print(f"litmos-sim: error: cannot listen on {args.host}:{args.port} ({exc.strerror}); "
          "pick another --port (0 = any free port)", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `litmos-sim` console script; first stdout line is the base URL."""
    args = build_parser().parse_args(argv)
    try:
        config = _base_config(args)
        fleet_orgs = _fleet_orgs(args, config) if args.orgs is not None or args.orgs_file is not None else None
    except ValueError as exc:
        print(f"litmos-sim: error: {exc}", file=sys.stderr)
        return 2
    if fleet_orgs is not None:
        return _serve_fleet(args, *fleet_orgs)
    from .simulator import Simulator

    started = time.monotonic()
    sim = Simulator(config)
    stop = _wait_for_signal()
    try:
        sim.start(args.host, args.port)
    except OSError as exc:
        return _listen_error(args, exc)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "127.0.0.1") else args.host
    print(f"http://{host}:{sim.port}/v1.svc", flush=True)
    if args.api_key is None:
        print(f"api key: {DEFAULT_API_KEY} (default; pass --api-key to choose one)", flush=True)
    print(f"org: seed={config.seed} scale={config.scale} users, history {config.history_days} days, "
          f"now {sim.now().isoformat()}, built in {time.monotonic() - started:.1f}s; "
          f"control endpoints under http://{host}:{sim.port}/_sim/", flush=True)
    stop.wait()
    sim.stop()
    return 0


def _serve_fleet(args, names: list[str], configs: list[SimConfig]) -> int:
    """Serve many orgs: the base URL, then one line per org "<name> <api key> seed=.. ...", then a summary."""
    from .fleet import Fleet

    started = time.monotonic()
    fleet = Fleet(configs, names)
    stop = _wait_for_signal()
    try:
        fleet.start(args.host, args.port)
    except OSError as exc:
        return _listen_error(args, exc)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "127.0.0.1") else args.host
    print(f"http://{host}:{fleet.port}/v1.svc", flush=True)
    for name, sim in fleet.orgs.items():  # simulator keys are test keys: printed like the default key
        cfg = sim.config
        print(f"{name} {cfg.api_key} seed={cfg.seed} scale={cfg.scale} history_days={cfg.history_days} "
              f"rate_limit={cfg.rate_limit or 0} now={sim.now().isoformat()}", flush=True)
    print(f"fleet: {len(names)} orgs built in {time.monotonic() - started:.1f}s; the API key picks the org; "
          f"control endpoints under http://{host}:{fleet.port}/_sim/orgs/<name>/", flush=True)
    stop.wait()
    fleet.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
