"""Soak (issue 12): 30 simulated nights with activity and faults, two kill -9s: exact at the end, state flat.

An in-process simulator (frozen clock, faults on: 5xx pages, truncated bodies, dropped connections) and
one `litmos-sync run --no-dbt` child process per night on one state dir and one warehouse, as cron
would run it. Before each night the clock moves one day with activity (new users, progress,
completions, late events). Two nights are killed with SIGKILL: one while its batches are being fetched,
one while a batch is between extract and load (a package pending in the state dir); the next night
resumes. After the last night the warehouse is compared with the simulator's ground truth, table by
table (keys and every column), and the state dir size is printed per night.
Targets: exact; state dir size flat (the last 10 nights within 10% of night 10, killed nights aside: their
pending package is loaded by the next night; load/loaded/ holds no job files).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from bench.common import API_KEY, ROOT, SOURCE, Target, record, say
from pipelines.state_hygiene import dir_size

DESCRIPTION = "issue 12: 30 nights with activity, faults and two kill -9s: exact at the end, state dir flat"
NOW = datetime(2026, 6, 1, 2, 15, tzinfo=timezone.utc)


def _job_files(path: str) -> int:
    return sum(1 for root, _, files in os.walk(path) for f in files
               if f.endswith((".parquet", ".gz", ".jsonl", ".insert_values", ".csv")))


def _pending(working_dir: str) -> bool:
    for sub in ("normalize/extracted", "load/new", "load/normalized"):
        d = os.path.join(working_dir, sub)
        if os.path.isdir(d) and any(os.scandir(d)):
            return True
    return False


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench soak", description=DESCRIPTION)
    ap.add_argument("--nights", type=int, default=30)
    ap.add_argument("--scale", type=int, default=500, help="simulated users at the start")
    ap.add_argument("--history-days", type=int, default=30)
    ap.add_argument("--kill-nights", default="9,21", help="nights (1-based) killed with SIGKILL: the first "
                    "while fetching, the second while a batch is pending between extract and load")
    ap.add_argument("--fail-rate", type=float, default=0.03)
    ap.add_argument("--truncate-rate", type=float, default=0.01)
    ap.add_argument("--drop-rate", type=float, default=0.01)
    ap.add_argument("--destination", choices=("duckdb", "postgres"), default="duckdb")
    ap.add_argument("--dsn", default=os.environ.get("LITMOS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
                    help="Postgres DSN (with --destination postgres; dataset litmos_soak_<pid> is dropped after)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args(argv)

    from litmos_sim import SimConfig, run_simulator
    from tests.source.truth import diff_all

    kills = [int(n) for n in args.kill_nights.split(",") if n.strip()]
    work = tempfile.mkdtemp(prefix="bench-soak-")
    state = os.path.join(work, "state")
    working_dir = os.path.join(state, "litmos")
    dataset = "litmos_raw" if args.destination == "duckdb" else f"litmos_soak_{os.getpid()}"
    env = dict(os.environ, SOURCES__LITMOS__API_KEY=API_KEY, SOURCES__LITMOS__SOURCE=SOURCE, PYTHONPATH=str(ROOT),
               SOURCES__LITMOS__WINDOWS_PER_BATCH=os.environ.get("SOURCES__LITMOS__WINDOWS_PER_BATCH", "2"))
    if args.destination == "duckdb":
        env["DESTINATION__DUCKDB__CREDENTIALS"] = os.path.join(work, "w.duckdb")
    else:
        env["DESTINATION__POSTGRES__CREDENTIALS"] = args.dsn
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--no-dbt", "--quiet", "--destination", args.destination,
           "--dataset", dataset, "--state-dir", state, "--requests-per-minute", "0",
           "--start-date", (NOW - timedelta(days=args.history_days + 1)).date().isoformat()]
    sizes: list[tuple[int, int, int, str]] = []  # night, state bytes, load/loaded bytes, outcome
    killed: list[str] = []
    failures: list[str] = []
    t_start = time.monotonic()
    problems: list[str] = ["not compared"]
    try:
        cfg = SimConfig(seed=12, scale=args.scale, api_key=API_KEY, history_days=args.history_days, now=NOW,
                        rate_limit=None)
        with run_simulator(cfg) as sim:
            env["SOURCES__LITMOS__BASE_URL"] = sim.base_url
            sim.set_faults(fail_rate=args.fail_rate, truncate_rate=args.truncate_rate, drop_rate=args.drop_rate)
            say(f"simulator: {args.scale} users, {args.history_days} days; faults fail={args.fail_rate} "
                f"truncate={args.truncate_rate} drop={args.drop_rate}; work dir {work}")
            for night in range(1, args.nights + 1):
                if night > 1:
                    sim.advance(timedelta(days=1), activity=True)
                before = len(sim.requests())
                t0 = time.monotonic()
                proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                outcome = "ok"
                if night in kills:
                    first_kill = night == kills[0]
                    deadline = time.monotonic() + 300
                    while proc.poll() is None and time.monotonic() < deadline:
                        if first_kill and len(sim.requests()) >= before + 25:
                            break  # fetching
                        if not first_kill and _pending(working_dir) and len(sim.requests()) >= before + 10:
                            break  # a batch extracted, not loaded yet
                        time.sleep(0.005)
                    if proc.poll() is None:
                        os.kill(proc.pid, signal.SIGKILL)
                        outcome = "kill -9 while " + ("fetching" if first_kill else "a batch was pending")
                        killed.append(f"night {night}: {outcome} ({len(sim.requests()) - before} requests in)")
                    else:
                        outcome = "finished before the kill"
                out, err = proc.communicate(timeout=1800)
                if proc.returncode not in (0, -signal.SIGKILL):
                    failures.append(f"night {night}: exit {proc.returncode}: {err.decode().strip()[-300:]}")
                    outcome = f"exit {proc.returncode}"
                sizes.append((night, dir_size(state), dir_size(os.path.join(working_dir, "load", "loaded")), outcome))
                say(f"night {night:2d}: {outcome}, {len(sim.requests()) - before} requests, "
                    f"{time.monotonic() - t0:.1f} s, state {sizes[-1][1] / 1024:.0f} KB "
                    f"(load/loaded {sizes[-1][2] / 1024:.0f} KB)")
            sim.set_faults(fail_rate=0, truncate_rate=0, drop_rate=0)
            if args.destination == "duckdb":
                import duckdb  # noqa: PLC0415

                conn = duckdb.connect(env["DESTINATION__DUCKDB__CREDENTIALS"], read_only=True)
            else:
                import psycopg2  # noqa: PLC0415

                conn = psycopg2.connect(args.dsn)
            try:
                problems = diff_all(sim, conn, dataset=dataset)
            finally:
                conn.close()
            truth_rows = sum(len(sim.ground_truth(p)) for p in ("/org/users/details", "/org/results/details"))
    finally:
        if args.destination == "postgres":
            try:
                import psycopg2  # noqa: PLC0415

                c = psycopg2.connect(args.dsn)
                c.autocommit = True
                with c.cursor() as cur:
                    cur.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
                    cur.execute(f'DROP SCHEMA IF EXISTS "{dataset}_staging" CASCADE')
                c.close()
            except Exception:  # noqa: BLE001
                pass
        job_files = _job_files(os.path.join(working_dir, "load", "loaded"))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    wall = time.monotonic() - t_start
    # a killed night's state holds its pending package until the next night loads it: compare clean nights
    clean = [(n, s) for n, s, _, outcome in sizes if outcome == "ok"]
    ref = next((s for n, s in clean if n >= min(10, sizes[-1][0])), sizes[-1][1])
    tail = [s for n, s in clean if n > sizes[-1][0] - 10] or [sizes[-1][1]]
    flat = max(tail) <= ref * 1.10 and job_files == 0
    per_night = ", ".join(f"{n}:{s / 1024:.0f}" for n, s, _, _ in sizes)
    loaded = ", ".join(f"{n}:{lo / 1024:.0f}" for n, _, lo, _ in sizes)
    exact = problems == []
    figures = [
        f"org: {args.scale} users at the start, {args.history_days} days of history, seed 12; {args.nights} nights, "
        f"one simulated day of activity each; faults fail_rate={args.fail_rate}, truncate_rate={args.truncate_rate}, "
        f"drop_rate={args.drop_rate}; destination {args.destination}; `litmos-sync run --no-dbt` per night, "
        f"requests_per_minute=0, windows_per_batch={env['SOURCES__LITMOS__WINDOWS_PER_BATCH']}",
        f"kills: {'; '.join(killed) or 'none landed'}",
        f"failed nights (other than the kills): {'; '.join(failures) or 'none'}",
        f"state dir KB per night: {per_night}",
        f"load/loaded/ KB per night: {loaded}; job files left in load/loaded/: {job_files}",
        f"warehouse vs ground truth after the last night: {'EXACT' if exact else '; '.join(problems[:5])} "
        f"(users + course results in truth: {truth_rows})",
        f"SOAK {'EXACT' if exact else 'NOT EXACT'}, state dir night 10 {ref / 1024:.0f} KB -> night {sizes[-1][0]} "
        f"{sizes[-1][1] / 1024:.0f} KB (max of the last 10 nights {max(tail) / 1024:.0f} KB); wall {wall:.0f} s",
    ]
    targets = [Target("exact vs ground truth after 30 nights with faults and two kill -9s", exact,
                      "exact" if exact else f"{len(problems)} differences"),
               Target("state dir size flat (last 10 clean nights within 10% of night 10, no job files kept)", flat,
                      f"{ref / 1024:.0f} KB -> max {max(tail) / 1024:.0f} KB, {job_files} job files"),
               Target("two kill -9s landed", len(killed) >= 2, str(len(killed)))]
    record("soak", "Soak (issue 12): 30 nights, faults, two kill -9s", figures, targets)
    print(figures[-1])
    return 0 if exact and flat else 1
