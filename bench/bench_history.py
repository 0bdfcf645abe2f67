"""Issue 11: the first full-history sync of an old org with the defaults (no --start-date).

Measures, in one run against a simulator at the vendor's 100/min with 1-3 s latency:
- requests made vs the minimum: one request per window the plan must ask (every 7-day window from the
  oldest change to now, per delta resource) plus one per extra page of windows holding more than a
  page, plus the undated lists, the achievements feed and the module details, all counted from the
  simulator's own request log and ground truth;
- wall time vs the rate floor (requests / 100 per minute);
- the ETA error: the request count the walk announced before it started vs what it made.
`--rpm 0 --latency-ms 0` measures the pipeline's own cost per request instead (no rate limit).
"""
from __future__ import annotations

import argparse
import logging
import math
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone

from bench.common import API_KEY, SOURCE, VENDOR_RPM, Target, fmt_s, record, say

DESCRIPTION = "issue 11: first full-history sync of a 10-year org: requests vs minimum, wall vs floor, ETA error"
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=timezone.utc)


class _Announced(logging.Handler):
    """Keeps the walk's announced estimates (the "history: ~N requests" lines)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("history: ~") or text.startswith("history: batch"):
            self.lines.append(text)
            say(text)


def minimum_requests(sim, now: datetime) -> tuple[int, int, int]:
    """(windows with data, empty windows, extra pages) of the delta endpoints over the org's history,
    for day-aligned 7-day windows from the oldest change up to tomorrow."""
    from sources.litmos.settings import ENDPOINTS

    tomorrow = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    full = empty = extra = 0
    for table, endpoint in ENDPOINTS.items():
        if endpoint.kind != "delta":
            continue
        element = {"updated_date": "UpdatedDate", "last_login": "LastLogin"}[endpoint.cursor]
        stamps = [r[element] for r in sim.ground_truth(endpoint.path) if r.get(element)]
        if not stamps:
            continue
        oldest = min(stamps).replace(hour=0, minute=0, second=0, microsecond=0)
        n_windows = math.ceil((tomorrow - oldest).days / 7)
        counts: dict[int, int] = {}
        for s in stamps:
            counts[(s - oldest).days // 7] = counts.get((s - oldest).days // 7, 0) + 1
        full += len(counts)
        empty += n_windows - len(counts)
        extra += sum(c // 1000 for c in counts.values())
    return full, empty, extra


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench history", description=DESCRIPTION)
    ap.add_argument("--scale", type=int, default=2000)
    ap.add_argument("--history-days", type=int, default=3650, help="age of the org (default 10 years)")
    ap.add_argument("--rpm", type=int, default=None, help="pipeline requests_per_minute (default: its own)")
    ap.add_argument("--sim-rate", type=int, default=VENDOR_RPM, help="simulator's limit (0 = none)")
    ap.add_argument("--latency-ms", type=int, default=1000, help="fixed latency (default 1000 + 0-2000 jitter)")
    args = ap.parse_args(argv)

    from litmos_sim import SimConfig, run_simulator
    from pipelines import config as pconfig
    from pipelines.sync import sync

    rpm = pconfig.DEFAULT_REQUESTS_PER_MINUTE if args.rpm is None else args.rpm
    jitter = 2000 if args.latency_ms else 0
    work = tempfile.mkdtemp(prefix="bench-history-")
    cfg = SimConfig(seed=2, scale=args.scale, api_key=API_KEY, history_days=args.history_days, now=NOW,
                    rate_limit=args.sim_rate or None, latency_ms=args.latency_ms, latency_jitter_ms=jitter)
    announced = _Announced()
    logging.getLogger("pipelines.sync").addHandler(announced)
    logging.getLogger("pipelines.sync").setLevel(logging.INFO)
    try:
        t0 = time.monotonic()
        with run_simulator(cfg) as sim:
            built = time.monotonic() - t0
            say(f"simulator built in {fmt_s(built)}: {args.history_days} days, scale {args.scale}")
            sim.clear_requests()
            t0 = time.monotonic()
            res = sync(destination="duckdb", credentials=f"{work}/wh.duckdb", dataset="litmos_raw",
                       state_dir=f"{work}/state", api_key=API_KEY, base_url=sim.base_url, source_name=SOURCE,
                       requests_per_minute=rpm)
            wall = time.monotonic() - t0
            recs = sim.requests()
            full, empty, extra = minimum_requests(sim, sim.now())
            undated = sum(1 for r in recs if not r.path.startswith("/org/") and int(r.status) == 200)
    finally:
        logging.getLogger("pipelines.sync").removeHandler(announced)
        shutil.rmtree(work, ignore_errors=True)

    n = len(recs)
    ok = sum(1 for r in recs if int(r.status) == 200)
    minimum = full + empty + extra + undated + 1  # + the clock probe
    first_estimate = next((int(t.split("~")[1].split(" ")[0].replace(",", ""))
                           for t in announced.lines if t.startswith("history: ~")), 0)
    eta_error = (first_estimate - res.history_requests) / res.history_requests if res.history_requests else 0.0
    total_error = ((res.history_estimate - res.history_requests) / res.history_requests
                   if res.history_requests else 0.0)
    floor = n / VENDOR_RPM * 60.0
    figures = [
        f"simulator: {args.history_days} days of history, scale {args.scale}, rate limit "
        f"{args.sim_rate or 'none'}/min, latency {args.latency_ms}-{args.latency_ms + jitter} ms; built in {fmt_s(built)}",
        f"pipeline (defaults, requests_per_minute={rpm}): {n} requests ({ok} answered 200), {res.rows_total} rows, "
        f"wall {fmt_s(wall)}; {res.history}",
        f"minimum: {full} windows holding data + {empty} empty windows + {extra} extra pages + {undated} undated "
        f"requests + 1 probe = {minimum}; made/minimum = {n / minimum:.3f}",
        f"walk: announced {first_estimate} requests before it started ({len([t for t in announced.lines if t.startswith('history: ~')])} "
        f"pass(es), {res.history_estimate} announced in all), made {res.history_requests}: first-estimate error "
        f"{eta_error:+.1%}, all passes {total_error:+.1%}",
        f"RATIO wall/floor(requests/{VENDOR_RPM} per min) {wall / floor:.3f}; requests/minimum {n / minimum:.3f}",
    ]
    targets = [
        Target("estimate within 15% of the real walk", abs(eta_error) <= 0.15, f"{eta_error:+.1%}"),
        Target("empty windows cost one request: requests/minimum <= 1.05", n / minimum <= 1.05, f"{n / minimum:.3f}"),
    ]
    if args.sim_rate:
        targets.append(Target("wall <= 1.10x the rate floor", wall / floor <= 1.10, f"{wall / floor:.3f}"))
    record("history", "Issue 11: first full-history sync with the defaults", figures, targets)
    print(figures[-1])
    return 0
