"""Benchmark 3: rows/s end to end, XML pages from the simulator (no limits) into DuckDB.

One simulator process serves the org; three measurements read the same course results
(/org/results/details) over the same day-aligned 7-day windows:
  a. raw libxml2: the pages are fetched once, then `lxml.etree.fromstring` + iterating every record's
     elements is timed (the ceiling of any XML reader);
  b. the naive baseline (bench/naive_pipeline.py): dlt resource yielding one dict per row from ElementTree;
  c. litmos-sync's `pipelines.sync.sync(resources=["course_results"], requests_per_minute=0)`;
  d. (diagnostic) c again against bench/replay_server.py serving the stored pages, i.e. a server that
     costs almost nothing: the pipeline's own ceiling on this machine.
b, c and d each run in their own child process into a fresh DuckDB file. Targets (on c, the end-to-end
figure against the simulator): c >= 3x b, c >= 0.5x a.
"""
from __future__ import annotations

import argparse
import pickle
import shutil
import tempfile
import time
from datetime import timedelta

import requests
from lxml import etree

from bench.common import (API_KEY, PAGE, PY, SOURCE, Target, api_date, fmt_s, ideal_windows, record, rows_of,
                          run_child, say, server_process, sim_process)

DESCRIPTION = "3. rows/s XML -> DuckDB vs a naive ElementTree dict-per-row dlt pipeline, and vs raw lxml parse"
PATH = "/org/results/details"


def fetch_pages(base_url: str, windows: list[tuple[str, str]]) -> dict[tuple[str, str, str, str], bytes]:
    """Every page of PATH over the windows, sequentially (advance `start` by the records received)."""
    session, bodies = requests.Session(), {}
    for since, to in windows:
        start = 0
        while True:
            r = session.get(base_url + PATH, headers={"apikey": API_KEY}, timeout=300, params={
                "source": SOURCE, "since": since, "to": to, "start": start, "limit": PAGE})
            r.raise_for_status()
            bodies[(PATH, since, to, str(start))] = r.content
            n = len(etree.fromstring(r.content))
            if n < PAGE:
                break
            start += n
    return bodies


def lxml_parse(bodies: list[bytes]) -> tuple[int, float]:
    """(records, seconds) of fromstring + iterating every element's text of every record."""
    t0 = time.perf_counter()
    rows = 0
    for body in bodies:
        root = etree.fromstring(body)
        for rec in root:
            for el in rec:
                el.text  # noqa: B018
            rows += 1
    return rows, time.perf_counter() - t0


def arrow_parse(bodies: list[bytes]) -> tuple[int, float]:
    """(records, seconds) of litmos-sync's own XML -> typed Arrow parser alone on the same pages."""
    from datetime import datetime, timezone

    from sources.litmos.parsing import parse_page
    from sources.litmos.settings import ENDPOINTS

    endpoint, now = ENDPOINTS["course_results"], datetime.now(timezone.utc)
    t0 = time.perf_counter()
    rows = sum(parse_page(body, endpoint, "xml", now).num_rows for body in bodies)
    return rows, time.perf_counter() - t0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench rows", description=DESCRIPTION)
    ap.add_argument("--scale", type=int, default=10000)
    ap.add_argument("--days", type=int, default=60)
    args = ap.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench-rows-")
    try:
        with sim_process(seed=3, scale=args.scale, history_days=args.days) as sim:
            now = sim.server_now()
            start = (now - timedelta(days=args.days + 1)).date()
            wins = ideal_windows(now - timedelta(days=args.days + 1), now + timedelta(days=1))
            wins_s = [(api_date(a), api_date(b)) for a, b in wins]
            t0 = time.perf_counter()
            bodies = fetch_pages(sim.base_url, wins_s)
            fetch_s = time.perf_counter() - t0
            mb = sum(map(len, bodies.values())) / 1e6
            parse_rows, parse_s = min((lxml_parse(list(bodies.values())) for _ in range(3)), key=lambda x: x[1])
            arrow_rows, arrow_s = min((arrow_parse(list(bodies.values())) for _ in range(2)), key=lambda x: x[1])
            with open(f"{work}/pages.pickle", "wb") as fh:
                pickle.dump(bodies, fh)
            del bodies
            say(f"{parse_rows} rows in {mb:.1f} MB; sequential fetch {fmt_s(fetch_s)}; lxml {parse_s:.2f} s")
            naive = run_child("naive", dict(base_url=sim.base_url, api_key=API_KEY, path=PATH,
                                            windows=[list(w) for w in wins_s], duckdb_path=f"{work}/naive.duckdb",
                                            pipelines_dir=f"{work}/naive_state"))
            if naive.returncode:
                print(naive.stderr_tail)
                return 1
            say(f"naive: {naive.result.get('rows')} rows in {naive.result['_wall_s']:.1f} s")
            pipe = run_child("sync", dict(destination="duckdb", credentials=f"{work}/pipe.duckdb",
                                          dataset="litmos_raw", resources=["course_results"],
                                          start_date=start.isoformat(), state_dir=f"{work}/state",
                                          api_key=API_KEY, base_url=sim.base_url, source_name=SOURCE,
                                          requests_per_minute=0))
            if pipe.returncode:
                print(pipe.stderr_tail)
                return 1
            sim_mb = sim.hwm_mb()
        with server_process([PY, "-m", "bench.replay_server", f"{work}/pages.pickle"], "replay server") as rep:
            replay = run_child("sync", dict(destination="duckdb", credentials=f"{work}/replay.duckdb",
                                            dataset="litmos_raw", resources=["course_results"],
                                            start_date=start.isoformat(), state_dir=f"{work}/state_replay",
                                            api_key=API_KEY, base_url=rep.base_url, source_name=SOURCE,
                                            requests_per_minute=0))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    p_rows = rows_of(pipe.result, "course_results")
    p_s, n_s = pipe.result["_wall_s"], naive.result["_wall_s"]
    p_rps, n_rps, x_rps = p_rows / p_s, naive.result["rows"] / n_s, parse_rows / parse_s
    fetch_rps = parse_rows / fetch_s
    r_rows = rows_of(replay.result, "course_results")
    r_rps = r_rows / replay.result["_wall_s"] if not replay.returncode else float("nan")
    figures = [
        f"simulator process: scale {args.scale}, {args.days} days, no rate limit, no latency (peak RSS "
        f"{sim_mb or 0:.0f} MB); course results over {len(wins)} windows: {parse_rows} rows, {mb:.1f} MB of XML",
        f"raw lxml fromstring + iterate: {parse_s:.2f} s = {x_rps:,.0f} rows/s (best of 3)",
        f"litmos-sync's parse_page alone (XML -> typed Arrow, in the bench process): {arrow_s:.2f} s = "
        f"{arrow_rows / arrow_s:,.0f} rows/s ({arrow_rows / arrow_s / x_rps:.3f} of raw lxml, best of 2)",
        f"first (cold: the simulator renders every row once, later reads are cached) sequential fetch of the pages, "
        f"with requests + a count parse per page: {fmt_s(fetch_s)} = {fetch_rps:,.0f} rows/s",
        f"naive dlt + ElementTree dict per row: {naive.result['rows']} rows, {naive.result['requests']} requests,"
        f" {fmt_s(n_s)} = {n_rps:,.0f} rows/s, peak RSS {naive.maxrss_mb:.0f} MB",
        f"litmos-sync: {p_rows} rows, {pipe.result.get('requests_total')} requests, {fmt_s(p_s)} = "
        f"{p_rps:,.0f} rows/s, peak RSS {pipe.maxrss_mb:.0f} MB",
        f"litmos-sync against the replay server (stored pages, near-free server): {r_rows} rows, "
        f"{fmt_s(replay.result['_wall_s'])} = {r_rps:,.0f} rows/s ({r_rps / x_rps:.3f} of raw lxml), "
        f"peak RSS {replay.maxrss_mb:.0f} MB" + (f" [failed: {replay.result.get('error')}]" if replay.returncode else ""),
        f"RATIO litmos-sync/naive {p_rps / n_rps:.2f}x; litmos-sync/raw-lxml {p_rps / x_rps:.3f}; "
        f"litmos-sync/cold-sequential-fetch {p_rps / fetch_rps:.2f}",
    ]
    targets = [
        Target("rows/s >= 3x the naive ElementTree dlt pipeline", p_rps / n_rps >= 3, f"{p_rps / n_rps:.2f}x"),
        Target("rows/s >= 0.5x raw libxml2 parse of the same pages", p_rps / x_rps >= 0.5,
               f"{p_rps / x_rps:.3f} end to end from the simulator ({r_rps / x_rps:.3f} from the replay server)"),
    ]
    record("rows", "Benchmark 3: rows/s XML -> DuckDB", figures, targets)
    print(figures[-1])
    return 0
