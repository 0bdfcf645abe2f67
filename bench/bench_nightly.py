"""Benchmark 5: the nightly incremental run of a 50k-user org at the simulator's 100/min limit.

In-process simulator with 50,000 users and a frozen clock. A first sync (no limit, no latency, start
date 3 days back: it only sets the cursors; the nightly's work does not depend on how far back it went)
is followed by `--steady-days` nights of simulated activity synced without limits, then one more day of
activity; then the rate limit (100/min) and 1-3 s latency are switched on and that night's run (same
pipeline state, default requests_per_minute) is timed.
Target: < 1 minute.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from bench.common import API_KEY, SOURCE, VENDOR_RPM, Target, fmt_s, record, say
from bench.reqcount import analyse, minimum_delta

DESCRIPTION = "5. nightly incremental run of a 50k-user org at 100/min (1-3 s latency): < 1 minute"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench nightly", description=DESCRIPTION)
    ap.add_argument("--scale", type=int, default=50000)
    ap.add_argument("--history-days", type=int, default=30)
    ap.add_argument("--rpm", type=int, default=None, help="pipeline requests_per_minute (default: its own)")
    ap.add_argument("--latency-ms", type=int, default=1000)
    ap.add_argument("--jitter-ms", type=int, default=2000)
    ap.add_argument("--steady-days", type=int, default=2,
                    help="simulated days synced (unlimited) before the measured night, so that the measured night "
                         "and the night before it (whose rows per day the plan uses) read only simulated activity, "
                         "not the generated history's last days, which are denser (0 = none)")
    ap.add_argument("--collection-refresh-days", type=int, default=0,
                    help="the pipeline's collection_refresh_days in every run (default 0: the collection family "
                         "is read in full every night; 7: weekly, so the measured night skips it)")
    ap.add_argument("--lookback-days", type=float, default=1,
                    help="the pipeline's lookback in every run (default 1, the product's default)")
    args = ap.parse_args(argv)

    from litmos_sim import SimConfig, run_simulator
    from pipelines import config as pconfig
    from pipelines.sync import sync

    rpm = args.rpm or pconfig.DEFAULT_REQUESTS_PER_MINUTE
    work = tempfile.mkdtemp(prefix="bench-nightly-")
    kw = dict(destination="duckdb", credentials=f"{work}/wh.duckdb", dataset="litmos_raw",
              start_date=(NOW - timedelta(days=3)).date().isoformat(), state_dir=f"{work}/state",
              api_key=API_KEY, source_name=SOURCE, collection_refresh_days=args.collection_refresh_days,
              lookback_days=args.lookback_days)
    try:
        say(f"generating a {args.scale}-user org ({args.history_days} days of history)")
        t0 = time.monotonic()
        with run_simulator(SimConfig(seed=5, scale=args.scale, api_key=API_KEY, history_days=args.history_days,
                                     now=NOW, rate_limit=None)) as sim:
            say(f"simulator ready in {time.monotonic() - t0:.0f} s; first sync (sets the cursors)")
            t0 = time.monotonic()
            first = sync(base_url=sim.base_url, requests_per_minute=0, **kw)
            say(f"first sync: {first.requests_total} requests in {time.monotonic() - t0:.0f} s")
            for _ in range(args.steady_days):
                sim.advance(timedelta(days=1), activity=True)
                sync(base_url=sim.base_url, requests_per_minute=0, **kw)
            prev_now = sim.now()
            activity = sim.advance(timedelta(days=1), activity=True)
            sim.set_faults(rate_limit=VENDOR_RPM, latency_ms=args.latency_ms, latency_jitter_ms=args.jitter_ms)
            sim.clear_requests()
            say("nightly run")
            t0 = time.monotonic()
            res = sync(base_url=sim.base_url, requests_per_minute=rpm, **kw)
            wall = time.monotonic() - t0
            recs = sim.requests()
            # fewest requests any client needs for the same data (pages at 1000), without / with lookback
            end = datetime.combine(sim.now().date() + timedelta(days=1), datetime.min.time(), timezone.utc)
            other = analyse(recs)["other_min"]
            strict = minimum_delta(sim, prev_now, end)[0] + other
            with_lb = minimum_delta(sim, prev_now - timedelta(days=args.lookback_days), end)[0] + other
    finally:
        shutil.rmtree(work, ignore_errors=True)

    statuses = Counter(int(r.status) for r in recs)
    paths = Counter(("/org/*" if r.path.startswith("/org/") else "/" + r.path.strip("/").split("/")[0])
                    for r in recs)
    rows = sum(int(r.rows or 0) for r in recs if int(r.status) == 200)
    limited = sum(1 for r in recs if getattr(r, "fault", None) == "rate_limit")
    floor = len(recs) / VENDOR_RPM * 60
    # One request per distinct query (window, list, parent) is owed every night, whatever the activity.
    queries = {(r.path, tuple(sorted((k, v) for k, v in (r.params or {}).items() if k not in ("start", "limit"))))
               for r in recs if int(r.status) == 200}
    family = sum(1 for path, _ in queries if path.startswith("/collection"))
    top = sorted(((name, s.rows, s.requests) for name, s in (res.resources or {}).items()),
                 key=lambda x: -x[2])[:6]
    top = ", ".join(f"{n}: {req} requests/{rw} rows" for n, rw, req in top)
    figures = [
        f"org: {args.scale} users, frozen clock, {args.steady_days} simulated day(s) synced after the first sync, "
        f"then one more day of activity before the measured run; "
        f"simulator at {VENDOR_RPM}/min with {args.latency_ms}-{args.latency_ms + args.jitter_ms} ms latency; "
        f"pipeline requests_per_minute={rpm}, lookback_days={args.lookback_days:g}, all resources, "
        f"collection_refresh_days="
        f"{args.collection_refresh_days}"
        + (" (the family is read every night)" if args.collection_refresh_days == 0 else
           f" (the family was read by the first sync, so the measured night skips it: "
           f"{', '.join(t for t, s in (res.resources or {}).items() if s.skipped) or 'none skipped'})"),
        f"nightly: {len(recs)} requests ({dict(paths)}), statuses {dict(statuses)}, {rows} rows served; "
        f"resources with most requests: {top}",
        f"one simulated day of activity: {activity}",
        f"fewest requests any client needs for this data at 1000 rows/page: {strict} since the previous run's "
        f"day ({fmt_s(strict / VENDOR_RPM * 60)} at {VENDOR_RPM}/min), {with_lb} with the {args.lookback_days:g}-day lookback "
        f"({fmt_s(with_lb / VENDOR_RPM * 60)}); made/minimum {len(recs) / with_lb:.3f}",
        f"requests owed even by a night without activity (one per window, list and parent query): {len(queries)} "
        f"({fmt_s(len(queries) / VENDOR_RPM * 60)} at {VENDOR_RPM}/min), {family} of them the collection family's "
        f"full refresh",
        f"floor at {VENDOR_RPM}/min for these requests: {fmt_s(floor)}; rate_wait_seconds="
        f"{getattr(res, 'rate_wait_seconds', 0):.1f}, retries_total={getattr(res, 'retries_total', '?')}",
        f"NIGHTLY WALL TIME {fmt_s(wall)} (target < 60 s); wall/floor {wall / floor:.2f}; rate-limit errors {limited}",
    ]
    targets = [Target("nightly run of a 50k-user org at 100/min < 1 minute", wall < 60, fmt_s(wall)),
               Target("0 rate-limit errors in the nightly run", limited == 0, str(limited))]
    record("nightly", "Benchmark 5: nightly run, 50k-user org at 100/min", figures, targets)
    print(figures[-1])
    return 0
