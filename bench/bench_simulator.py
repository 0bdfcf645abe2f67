"""Simulator benchmark: org build time and memory at scale, and 1000-row XML pages served per second.

    .venv/bin/python bench/bench_simulator.py [--scale 100000] [--history-days 60] [--pages 300] [--no-write]

Runs `litmos-sim serve` in a child process (so the client does not share its GIL), reads 1000-record XML
pages of /org/results/details over one keep-alive connection, window by window (cold: every row rendered
for the first time), then the same pages again (warm: rendered rows cached). Prints the figure last
(cold rows/s) and writes the result and command to docs/benchmarks/<YYYY-MM-DD-HHMM>-simulator.md.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # run as a script (bench/bench_simulator.py): the repo root holds `bench`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import ROOT, write_run  # noqa: E402

DESCRIPTION = "simulator: org build time/RSS at 100k users; 1000-row XML pages/s and rows/s (cold and warm)"
KEY = "bench-key"


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _start(scale: int, history_days: int) -> tuple[subprocess.Popen, str, float, float]:
    """Start the server; returns (process, base URL, build seconds as printed, wall seconds to ready)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "litmos_sim.cli", "serve", "--port", "0", "--scale", str(scale), "--api-key", KEY,
         "--history-days", str(history_days), "--rate-limit", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    base = proc.stdout.readline().strip()
    if not base.startswith("http://"):
        proc.kill()
        raise SystemExit(f"bench_simulator: the simulator did not start (first line {base!r})")
    info = proc.stdout.readline()
    built = float(re.search(r"built in ([0-9.]+)s", info).group(1))
    return proc, base, built, time.monotonic() - started


def _windows(now: datetime, days: int) -> list[tuple[str, str]]:
    end = datetime(now.year, now.month, now.day, tzinfo=timezone.utc) + timedelta(days=1)
    start = end - timedelta(days=days)
    out = []
    while start < end:
        stop = min(start + timedelta(days=7), end)
        out.append((start.strftime("%Y-%m-%d %H:%M:%S"), stop.strftime("%Y-%m-%d %H:%M:%S")))
        start = stop
    return out


def _read_pages(base: str, windows: list[tuple[str, str]], max_pages: int) -> tuple[list[tuple], int, int, float]:
    """Read up to max_pages 1000-row pages; returns (page requests, rows, bytes, seconds)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    plan, rows, size = [], 0, 0
    started = time.perf_counter()
    for since, to in windows:
        start = 0
        while len(plan) < max_pages:
            query = urlencode({"source": "bench", "since": since, "to": to, "start": start, "limit": 1000})
            conn.request("GET", f"{parts.path}/org/results/details?{query}", headers={"apikey": KEY})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise SystemExit(f"bench_simulator: HTTP {resp.status}: {body[:200]!r}")
            n = body.count(b"<UserResult>")
            plan.append((since, to, start))
            rows, size, start = rows + n, size + len(body), start + n
            if n < 1000:
                break
    elapsed = time.perf_counter() - started
    conn.close()
    return plan, rows, size, elapsed


def _reread(base: str, plan: list[tuple]) -> tuple[int, float]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    rows = 0
    started = time.perf_counter()
    for since, to, start in plan:
        query = urlencode({"source": "bench", "since": since, "to": to, "start": start, "limit": 1000})
        conn.request("GET", f"{parts.path}/org/results/details?{query}", headers={"apikey": KEY})
        rows += conn.getresponse().read().count(b"<UserResult>")
    elapsed = time.perf_counter() - started
    conn.close()
    return rows, elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints the cold rows/s figure last."""
    parser = argparse.ArgumentParser(prog="bench_simulator", description=DESCRIPTION)
    parser.add_argument("--scale", type=int, default=100_000, help="users in the org (default 100000)")
    parser.add_argument("--history-days", type=int, default=60)
    parser.add_argument("--pages", type=int, default=300, help="1000-row pages to read (default 300)")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks/...-simulator.md")
    args = parser.parse_args(argv)
    command = ".venv/bin/python bench/bench_simulator.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))

    proc, base, built, ready = _start(args.scale, args.history_days)
    try:
        now = datetime.now(timezone.utc)
        plan, rows, size, cold_s = _read_pages(base, _windows(now, args.history_days), args.pages)
        warm_rows, warm_s = _reread(base, plan)
        hwm = _vm_hwm_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    pages = len(plan)
    cold_rows_s, warm_rows_s = rows / cold_s, warm_rows / warm_s
    figures = [
        f"- org of {args.scale} users, {args.history_days} days: built in {built:.1f} s (process ready in "
        f"{ready:.1f} s), peak RSS {hwm:.0f} MB" if hwm else f"- org built in {built:.1f} s",
        f"- cold: {pages} pages of /org/results/details (limit 1000, XML, {size / pages / 1e6:.2f} MB/page), "
        f"{rows} rows in {cold_s:.1f} s = {pages / cold_s:.1f} pages/s, {cold_rows_s:,.0f} rows/s "
        "(first read: every row rendered; window indexes are built at start-up)",
        f"- warm (same pages again, rendered rows cached): {pages / warm_s:.1f} pages/s, {warm_rows_s:,.0f} rows/s",
        "- client: one keep-alive http.client connection in another process, body read fully, rows counted",
    ]
    for line in figures:
        print(line)
    if not args.no_write:
        write_run("simulator", "Simulator", f"Command: `{command.strip()}`\n\n" + "\n".join(figures)
                  + f"\n\nMachine: {os.cpu_count()} cores shared with other work while measured (load average "
                  f"{os.getloadavg()[0]:.1f} at the end), so figures are noisy.")
    print(f"simulator serves 1000-row XML pages at {cold_rows_s:,.0f} rows/s cold, {warm_rows_s:,.0f} rows/s warm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
