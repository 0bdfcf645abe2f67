"""Benchmark 4: peak RSS of the pipeline process as the number of course results grows.

For each size the simulator runs in its own process (org scaled so it holds about that many course
results, its history growing with it: --days-per-million, default 73 = 5M over a year, so rows per 7-day
window stay the same and only the history grows), and `pipelines.sync.sync(resources=["course_results"])` runs in a child process into a fresh
DuckDB file; the child's peak RSS is wait4()'s ru_maxrss (the simulator's memory is not in it).
Target: < 400 MB at 5M course results and flat as history grows. When the simulator cannot host 5M rows on
this machine (time/memory), smaller sizes are measured and flatness is judged from them.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import timedelta

from bench.common import API_KEY, SOURCE, Target, fmt_s, record, rows_of, run_child, say, sim_process

DESCRIPTION = "4. peak RSS of the pipeline process for N course results (0.5M/1M/2M..., flat?)"
PER_USER_GUESS = 15.0


def _create_db(server_dsn: str) -> str:
    import uuid

    import psycopg2

    name = f"bench_memory_{uuid.uuid4().hex[:10]}"
    con = psycopg2.connect(server_dsn)
    con.autocommit = True
    con.cursor().execute(f'CREATE DATABASE "{name}"')
    con.close()
    return server_dsn.rsplit("/", 1)[0] + "/" + name


def _drop_db(server_dsn: str, dsn: str) -> None:
    import psycopg2

    con = psycopg2.connect(server_dsn)
    con.autocommit = True
    con.cursor().execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    con.close()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench memory", description=DESCRIPTION)
    ap.add_argument("--sizes", default="500000,1000000,2000000", help="course results, comma separated")
    ap.add_argument("--days-per-million", type=float, default=73.0,
                    help="days of history per million course results (73 = 5M over a year): the history grows "
                         "with the size, rows per 7-day window stay the same")
    ap.add_argument("--per-user", type=float, default=0.0, help="course results per user (0: calibrate)")
    ap.add_argument("--postgres", default="",
                    help="server DSN (e.g. postgresql://postgres@127.0.0.1:5432/postgres): load into a fresh "
                         "Postgres database per size instead of DuckDB, so the warehouse's memory is outside "
                         "the pipeline process")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]

    per_user = args.per_user or PER_USER_GUESS
    calibrated = bool(args.per_user)
    points = []  # (target, scale, rows, rss_mb, wall_s, sim_mb, requests)
    for target in sizes:
        scale = max(100, int(target / per_user))
        days = max(7, round(args.days_per_million * target / 1e6))
        work = tempfile.mkdtemp(prefix="bench-memory-")
        try:
            t0 = time.monotonic()
            dest, creds = ("postgres", _create_db(args.postgres)) if args.postgres else \
                ("duckdb", f"{work}/wh.duckdb")
            with sim_process(seed=4, scale=scale, history_days=days) as sim:
                gen_s = time.monotonic() - t0
                now = sim.server_now()
                start = (now - timedelta(days=days + 1)).date()
                run = run_child("sync", dict(destination=dest, credentials=creds,
                                             dataset="litmos_raw", resources=["course_results"],
                                             start_date=start.isoformat(), state_dir=f"{work}/state",
                                             api_key=API_KEY, base_url=sim.base_url, source_name=SOURCE,
                                             requests_per_minute=0), timeout=3600)
                sim_mb = sim.hwm_mb()
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if args.postgres:
                _drop_db(args.postgres, creds)
        if run.returncode:
            print(run.stderr_tail)
            return 1
        rows = rows_of(run.result, "course_results")
        points.append((target, scale, rows, run.maxrss_mb, run.result["_wall_s"], sim_mb, gen_s,
                       run.result.get("requests_total"), days))
        say(f"{rows} rows (scale {scale}): pipeline peak RSS {run.maxrss_mb:.0f} MB, "
            f"{fmt_s(run.result['_wall_s'])}; simulator {sim_mb or 0:.0f} MB, generated in {gen_s:.0f} s")
        if not calibrated and rows:
            per_user, calibrated = rows / scale, True

    lo, hi = points[0], points[-1]
    growth = (hi[3] - lo[3]) / lo[3]
    slope = (hi[3] - lo[3]) / max(1e-9, (hi[2] - lo[2]) / 1e6)
    flat = growth < 0.25
    biggest = max(points, key=lambda p: p[2])
    at5m = [p for p in points if p[2] >= 4_500_000]
    where = "Postgres (out of process)" if args.postgres else "DuckDB (in the pipeline process)"
    figures = [f"destination: {where}"] + [f"{p[2]:,} course results (org of {p[1]:,} users, {p[8]} days of history, {p[7]} requests): pipeline "
               f"peak RSS {p[3]:.0f} MB, wall {fmt_s(p[4])} ({p[2] / p[4]:,.0f} rows/s); simulator process "
               f"{p[5] or 0:.0f} MB, org generated in {p[6]:.0f} s" for p in points]
    figures.append(f"PEAK RSS {lo[3]:.0f} MB at {lo[2]:,} rows -> {hi[3]:.0f} MB at {hi[2]:,} rows: "
                   f"{growth * 100:+.1f}% for {hi[2] / max(1, lo[2]):.1f}x the rows ({slope:.1f} MB per million rows)")
    targets = [
        Target("peak RSS < 400 MB for 5M course results",
               (at5m[0][3] < 400) if at5m else None,
               f"{at5m[0][3]:.0f} MB at {at5m[0][2]:,} rows" if at5m else
               f"5M not measured (largest {biggest[2]:,} rows: {biggest[3]:.0f} MB)"),
        Target("peak RSS flat as history grows (< 25% growth over the sizes measured)",
               flat if len(points) > 1 else None,
               f"{growth * 100:+.1f}% from {lo[2]:,} to {hi[2]:,} rows" if len(points) > 1 else
               "one size only: compare with the other entries of this benchmark"),
    ]
    record("memory", "Benchmark 4: peak RSS vs course results", figures, targets)
    print(figures[-1])
    return 0
