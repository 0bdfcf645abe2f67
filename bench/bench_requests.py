"""Benchmark 1: requests made / minimum possible for a 1-year backfill and for the nightly run after it.

Simulator in-process (no rate limit, no latency: only the count matters), every resource, start date one
year before the simulator's frozen clock. Then the clock advances one day with activity and the same
pipeline state runs again (the nightly run). Target: <= 1.05 plus the lookback.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone

from bench.common import API_KEY, SOURCE, Target, fmt_s, record, say
from bench.reqcount import analyse, minimum_delta

DESCRIPTION = "1. requests made / minimum possible (windows + pages at 1000): 1-year backfill and nightly"
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=timezone.utc)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench requests", description=DESCRIPTION)
    ap.add_argument("--scale", type=int, default=2000, help="users in the simulated org")
    ap.add_argument("--days", type=int, default=365, help="days of backfill (and of simulated history)")
    ap.add_argument("--lookback-days", type=int, default=1)
    args = ap.parse_args(argv)

    from litmos_sim import SimConfig, run_simulator
    from pipelines.sync import sync

    work = tempfile.mkdtemp(prefix="bench-requests-")
    cfg = SimConfig(seed=1, scale=args.scale, api_key=API_KEY, history_days=args.days + 5, now=NOW,
                    rate_limit=None, latency_ms=0, latency_jitter_ms=0)
    start = (NOW - timedelta(days=args.days)).date()
    kw = dict(destination="duckdb", credentials=f"{work}/wh.duckdb", dataset="litmos_raw",
              start_date=start.isoformat(), state_dir=f"{work}/state", api_key=API_KEY,
              source_name=SOURCE, requests_per_minute=0, lookback_days=args.lookback_days)
    try:
        say(f"generating org scale={args.scale} history={cfg.history_days}d")
        with run_simulator(cfg) as sim:
            # ---- backfill
            sim.clear_requests()
            t0 = time.monotonic()
            res = sync(base_url=sim.base_url, **kw)
            back_s = time.monotonic() - t0
            back = analyse(sim.requests())
            end = datetime.combine(sim.now().date() + timedelta(days=1), datetime.min.time(), timezone.utc)
            start_dt = datetime.combine(start, datetime.min.time(), timezone.utc)
            dmin, n_win, _ = minimum_delta(sim, start_dt, end)
            back_min = dmin + back["other_min"]
            say(f"backfill: {back['total']} requests ({fmt_s(back_s)}), minimum {back_min}")
            prev_now = sim.now()
            # ---- nightly
            sim.advance(timedelta(days=1), activity=True)
            sim.clear_requests()
            t0 = time.monotonic()
            res2 = sync(base_url=sim.base_url, **kw)
            night_s = time.monotonic() - t0
            night = analyse(sim.requests())
            end2 = datetime.combine(sim.now().date() + timedelta(days=1), datetime.min.time(), timezone.utc)
            strict, n_win2, _ = minimum_delta(sim, prev_now, end2)
            lb, n_win_lb, _ = minimum_delta(sim, prev_now - timedelta(days=args.lookback_days), end2)
            night_min, night_min_lb = strict + night["other_min"], lb + night["other_min"]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    r_back = back["total"] / back_min
    r_night = night["total"] / night_min
    r_night_lb = night["total"] / night_min_lb
    figures = [
        f"org: scale {args.scale} users, simulator clock frozen at {NOW:%Y-%m-%d %H:%M} UTC, no rate limit, "
        f"no latency; all resources; lookback {args.lookback_days} day",
        f"backfill {args.days} days from {start}: {back['total']} requests made "
        f"(/org {back['org_made']}, other {back['other_made']}; by status {back['by_status']}; "
        f"limit values {back['limits']}; repeated identical 200s {back['duplicate_200s']}) in {fmt_s(back_s)}; "
        f"pipeline counted requests_total={getattr(res, 'requests_total', '?')}, "
        f"retries_total={getattr(res, 'retries_total', '?')}",
        f"backfill minimum: {back_min} = {dmin} for 17 /org endpoints x {n_win} day-aligned 7-day windows "
        f"(+ extra pages at 1000 rows) + {back['other_min']} for the non-/org queries the run needed",
        f"nightly run after advancing the clock 1 day: {night['total']} requests (by status "
        f"{night['by_status']}, repeated identical 200s {night['duplicate_200s']}) in {fmt_s(night_s)}; "
        f"requests_total={getattr(res2, 'requests_total', '?')}",
        f"nightly minimum: {night_min} without lookback ({n_win2} window(s) per /org endpoint since the "
        f"previous run's day), {night_min_lb} with the {args.lookback_days}-day lookback ({n_win_lb} window(s));"
        f" non-/org part {night['other_min']}",
        f"RATIO backfill {r_back:.3f}; nightly {r_night:.3f} (vs no-lookback minimum), "
        f"{r_night_lb:.3f} (vs minimum with lookback)",
    ]
    targets = [
        Target("1-year backfill requests/minimum <= 1.05", r_back <= 1.05, f"{r_back:.3f}"),
        Target("nightly requests/minimum <= 1.05 plus the lookback", r_night_lb <= 1.05,
               f"{r_night_lb:.3f} vs the minimum including the lookback ({r_night:.3f} without it)"),
    ]
    record("requests", "Benchmark 1: requests made / minimum possible", figures, targets)
    print("\n".join(figures[1:-1]))
    print(f"requests/minimum: backfill {r_back:.3f} ({back['total']}/{back_min}), "
          f"nightly {r_night_lb:.3f} ({night['total']}/{night_min_lb}, lookback included)")
    return 0
