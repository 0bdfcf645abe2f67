"""Issue 15: many orgs on one machine, each at its own 100/min with 1-3 s latency.

One `litmos-sim serve --orgs N` process (its CPU is measured apart from the pipeline's) serves orgs
org01..orgNN, each with its own key, data and 100/min budget. The pipeline is the CLI, as a user runs it:
`litmos-sync run --all-tenants --parallel N --no-dbt` with one tenant per org in the environment
(`SOURCES__LITMOS__TENANTS__ORG01__API_KEY`, ...), or with `--mode separate` one single-org
`litmos-sync run` per org, each with its own DuckDB file (the baseline without tenants).

Per size of `--orgs` (`5,10,20` is a sweep, each size on a fresh simulator and warehouse): a first sync
of the orgs' whole history, then (unless `--no-nightly`) one simulated day of activity in every org and the
incremental run. Measured: each org's requests (the simulator's log) and floor (requests / 100 per min); the
run's wall (launch to exit) / the slowest org's floor (target <= 1.10); pipeline CPU (wait4 rusage of the
CLI process(es), which includes every tenant child they reaped), the simulator's apart; peak RSS (the
highest sum of VmRSS over the live process tree, sampled every 0.2 s; bench/proctree.py); CPU per
org-minute at full API speed (100 requests), hence how many orgs the cores sustain, both in the steady
state (CPU sampled from /proc while every org is between its first and last request) and over whole runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

import requests

from bench.common import PY, ROOT, VENDOR_RPM, Target, fmt_s, record, say, server_process
from bench.proctree import RunMeasure, run_group
from litmos_sim.fleet import org_api_key, org_names

DESCRIPTION = "issue 15: N orgs at 100/min each (1-3 s latency): wall vs the slowest org's floor, CPU, RSS, orgs/machine"
SOURCE = "bench-fleet"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CORES = os.cpu_count() or 2


# ------------------------------------------------------------------------------------------ simulator
def sim_control(root: str, name: str, action: str, method: str = "GET", **body) -> dict | list:
    """One per-org control request of a multi-org simulator (`/_sim/orgs/<name>/<action>`)."""
    r = requests.request(method, f"{root}/_sim/orgs/{name}/{action}", json=body or None, timeout=600)
    r.raise_for_status()
    return r.json()


@dataclass
class OrgFigures:
    name: str
    requests: int
    statuses: dict[int, int]
    limited: int
    rows: int
    ats: list[datetime]  # request arrivals in real time (the org's ticking clock less its offset), sorted

    @property
    def span_s(self) -> float:
        return (self.ats[-1] - self.ats[0]).total_seconds() if self.ats else 0.0

    @property
    def floor_s(self) -> float:
        return self.requests / VENDOR_RPM * 60.0


def org_figures(root: str, names: list[str]) -> list[OrgFigures]:
    out = []
    for name in names:
        recs = sim_control(root, name, "requests")
        ahead = datetime.fromisoformat(sim_control(root, name, "clock")["now"]) - datetime.now(timezone.utc)
        ats = sorted(datetime.fromisoformat(r["at"]) - ahead for r in recs)
        out.append(OrgFigures(name, len(recs), dict(Counter(int(r["status"]) for r in recs)),
                              sum(1 for r in recs if r.get("fault") == "rate_limit"),
                              sum(int(r.get("rows") or 0) for r in recs if int(r["status"]) == 200), ats))
    return out


# ------------------------------------------------------------------------------------------ pipeline
def commands(mode: str, names: list[str], base_url: str, work: str, destination: str, dsn: str | None,
             parallel: int, start_date: str, rpm: int | None) -> list[tuple[list[str], dict[str, str]]]:
    """The CLI command(s) and environment(s) of one run of every org."""
    cli = [PY, "-m", "pipelines.cli", "run", "--no-dbt", "--quiet", "--destination", destination,
           "--start-date", start_date] + (["--requests-per-minute", str(rpm)] if rpm else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__LITMOS__", "DESTINATION__"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if destination == "postgres":
        env["DESTINATION__POSTGRES__CREDENTIALS"] = dsn or ""
    if mode == "tenants":
        env["DESTINATION__DUCKDB__CREDENTIALS"] = f"{work}/wh.duckdb"
        for name in names:
            pre = f"SOURCES__LITMOS__TENANTS__{name.upper()}__"
            env.update({pre + "API_KEY": org_api_key(name), pre + "BASE_URL": base_url, pre + "SOURCE": SOURCE})
        return [(cli + ["--all-tenants", "--parallel", str(parallel), "--state-dir", f"{work}/state"], env)]
    out = []
    for name in names:  # separate: one single-org CLI per org, own state, own DuckDB file / own schema
        e = dict(env, SOURCES__LITMOS__API_KEY=org_api_key(name), SOURCES__LITMOS__BASE_URL=base_url,
                 SOURCES__LITMOS__SOURCE=SOURCE, DESTINATION__DUCKDB__CREDENTIALS=f"{work}/wh-{name}.duckdb")
        out.append((cli + ["--state-dir", f"{work}/state-{name}", "--dataset", f"litmos_raw__{name}"], e))
    return out


def _pg(sql: str) -> None:
    import psycopg2  # noqa: PLC0415

    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


@contextmanager
def warehouse(destination: str) -> Iterator[str | None]:
    """A fresh Postgres database (its DSN, dropped afterwards) or None for DuckDB (files in the work dir)."""
    if destination != "postgres":
        yield None
        return
    name = f"bench_fleet_{uuid.uuid4().hex[:10]}"
    _pg(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------------------ one size
@dataclass
class Phase:
    kind: str  # "first sync" / "nightly"
    orgs: list[OrgFigures]
    m: RunMeasure

    @property
    def slowest(self) -> OrgFigures:
        return max(self.orgs, key=lambda o: o.floor_s)

    @property
    def ratio(self) -> float:
        return self.m.wall_s / self.slowest.floor_s if self.slowest.floor_s else float("inf")

    @property
    def org_minutes(self) -> float:
        """Minutes of API work at full speed: total requests / 100 per min."""
        return sum(o.requests for o in self.orgs) / VENDOR_RPM

    def steady(self) -> tuple[float, float, int] | None:
        """(seconds, pipeline CPU s, requests) while every org is between its first and last request, 10 s
        in from each end: the cost at full API speed without the start-up and the last loads."""
        if not all(o.ats for o in self.orgs):
            return None
        t1 = max(o.ats[0] for o in self.orgs) + timedelta(seconds=10)
        t2 = min(o.ats[-1] for o in self.orgs) - timedelta(seconds=10)
        pts = [(t, c) for t, c in self.m.series if t1 <= t <= t2]
        if len(pts) < 2 or (pts[-1][0] - pts[0][0]).total_seconds() < 30:
            return None
        (a, cpu_a), (b, cpu_b) = pts[0], pts[-1]
        return (b - a).total_seconds(), cpu_b - cpu_a, sum(1 for o in self.orgs for t in o.ats if a <= t < b)

    def after_startup(self) -> float | None:
        """CPU s per org-minute from the last org's first request to the end: start-up (interpreters,
        imports, the tenants' processes) left out, the loads and the finish in."""
        if not all(o.ats for o in self.orgs):
            return None
        t = max(o.ats[0] for o in self.orgs)
        cpu = next((c for when, c in self.m.series if when >= t), None)
        return (self.m.cpu_s - cpu) / self.org_minutes if cpu is not None and self.org_minutes else None

    def steady_line(self) -> str:
        st = self.steady()
        if st is None:
            return "steady state: not measured (the orgs' request spans overlap by less than 50 s)"
        secs, cpu, n = st
        return (f"steady state ({secs:.0f} s while every org is mid-run): {n / secs * 60 / len(self.orgs):.1f} "
                f"requests/min per org, pipeline {cpu / secs:.2f} cores, **{cpu / (n / VENDOR_RPM):.2f} CPU s per "
                f"org-minute** at full API speed")

    def edges(self) -> str:
        """Where the wall goes outside the orgs' request spans: start-up before, the last load after."""
        firsts, lasts = [o.ats[0] for o in self.orgs if o.ats], [o.ats[-1] for o in self.orgs if o.ats]
        if not firsts:
            return "no requests"
        return (f"launch to the first org's first request {(min(firsts) - self.m.started).total_seconds():.1f} s, "
                f"to the last org's first request {(max(firsts) - self.m.started).total_seconds():.1f} s; "
                f"last request to exit {(self.m.ended - max(lasts)).total_seconds():.1f} s; {self.starts()}")

    def starts(self) -> str:
        """An org's first request is the clock probe; its second waits for the run's first turn on the
        warehouse (state from the warehouse, pending packages) before the data requests begin."""
        gaps = sorted((o.ats[1] - o.ats[0]).total_seconds() for o in self.orgs if len(o.ats) > 1)
        if not gaps:
            return "probe to first data request: not measured"
        return (f"each org's clock probe to its first data request {gaps[0]:.1f}-{gaps[-1]:.1f} s "
                f"(median {gaps[len(gaps) // 2]:.1f} s)")

    def lines(self, n: int) -> list[str]:
        reqs, m = [o.requests for o in self.orgs], self.m
        spans = [o.span_s / o.floor_s for o in self.orgs if o.floor_s]
        statuses = sum((Counter(o.statuses) for o in self.orgs), Counter())
        return [
            f"**{n} orgs, {self.kind}**: requests per org {min(reqs)}-{max(reqs)} (total {sum(reqs)}), statuses "
            f"{dict(statuses)}, rate-limit errors {sum(o.limited for o in self.orgs)}, rows {sum(o.rows for o in self.orgs)}",
            f"wall {fmt_s(m.wall_s)}; slowest org's floor ({self.slowest.name}, {self.slowest.requests} requests / "
            f"{VENDOR_RPM} per min) {fmt_s(self.slowest.floor_s)}; **WALL/FLOOR {self.ratio:.3f}**; each org's own span "
            f"(first to last request) / its floor: {min(spans, default=0):.3f}-{max(spans, default=0):.3f}",
            self.edges(),
            self.steady_line(),
            f"pipeline CPU {m.cpu_s:.1f} s (user {m.cpu_user_s:.1f}, sys {m.cpu_sys_s:.1f}) = {m.cpu_s / m.wall_s:.2f} "
            f"cores on average; {m.cpu_s / self.org_minutes:.2f} CPU s per org-minute at full API speed "
            f"({self.org_minutes:.1f} org-minutes); sampled from /proc: {m.sampled_cpu_s:.1f} s; simulator CPU "
            f"{m.sim_cpu_s:.1f} s (apart)",
            f"peak RSS {m.peak_rss_mb:.0f} MB summed over {m.peak_procs} live pipeline processes at most; largest "
            f"single process {m.max_process_mb:.0f} MB; exits {sorted(Counter(m.exits).items())}",
            "load average before " + "/".join(f"{x:.2f}" for x in m.load_before) + ", after "
            + "/".join(f"{x:.2f}" for x in m.load_after),
        ] + [f"FAILED: {e[:400]}" for e in m.errors]


def run_size(n: int, args: argparse.Namespace) -> list[Phase]:
    """A fresh simulator of ``n`` orgs and a fresh warehouse: the first sync, then the nightly."""
    names, work, phases = org_names(n), tempfile.mkdtemp(prefix=f"bench-fleet-{n}-"), []
    cmd = [PY, "-m", "litmos_sim.cli", "serve", "--port", "0", "--orgs", str(n), "--seed", "1",
           "--scale", str(args.scale), "--history-days", str(args.history_days), "--rate-limit", str(VENDOR_RPM),
           "--latency-ms", str(args.latency_ms), "--latency-jitter-ms", str(args.jitter_ms)]
    try:
        with warehouse(args.destination) as dsn, server_process(cmd, f"simulator ({n} orgs)") as sim:
            root = sim.base_url.rsplit("/v1.svc", 1)[0]
            start = (datetime.now(timezone.utc) - timedelta(days=args.history_days)).date().isoformat()
            cmds = commands(args.mode, names, sim.base_url, work, args.destination, dsn,
                            args.parallel or n, start, args.rpm)
            for kind in ["first sync"] + ([] if args.no_nightly else ["nightly"]):
                for name in names:
                    if kind == "nightly":
                        sim_control(root, name, "clock", "POST", advance_seconds=86400, activity=True)
                    sim_control(root, name, "requests", "DELETE")
                say(f"{n} orgs: {kind} ({args.mode}, {args.destination})")
                m = run_group(cmds, sim.pid, work, args.timeout)
                phases.append(Phase(kind, org_figures(root, names), m))
                say(f"{n} orgs: {kind} wall {m.wall_s:.1f} s, ratio {phases[-1].ratio:.3f}, CPU {m.cpu_s:.1f} s, "
                    f"peak RSS {m.peak_rss_mb:.0f} MB, exits {m.exits}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return phases


# ------------------------------------------------------------------------------------------ main
def capacity(first: list[tuple[int, Phase]]) -> list[str]:
    """CPU s per org-minute at full API speed, and so the orgs the cores sustain, per first sync: requests
    only (steady state), start-up left out, and whole runs (the slope of CPU against org-minutes)."""
    out = []
    for n, p in first:
        st, rest = p.steady(), p.after_startup()
        if st:
            per = st[1] / (st[2] / VENDOR_RPM)
            out.append(f"{n} orgs, requests only (steady state): {per:.2f} CPU s per org-minute = about "
                       f"{CORES * 60 / per:.0f} orgs")
        if rest:
            out.append(f"{n} orgs, start-up left out (requests, loads, finish): {rest:.2f} CPU s per org-minute = "
                       f"about **{CORES * 60 / rest:.0f} orgs**")
    xs, ys = [p.org_minutes for _, p in first], [p.m.cpu_s for _, p in first]
    per = statistics.linear_regression(xs, ys).slope if len(set(xs)) >= 2 else ys[0] / xs[0]
    out.append(f"whole first syncs ({'slope over ' if len(set(xs)) >= 2 else 'average of '}"
               f"{', '.join(str(n) for n, _ in first)} orgs): {per:.2f} CPU s per org-minute = about "
               f"{CORES * 60 / per:.0f} orgs")
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench fleet", description=DESCRIPTION)
    ap.add_argument("--orgs", default="20", help="org count, or a comma list for a sweep (default 20)")
    ap.add_argument("--scale", type=int, default=100, help="users per org (default 100)")
    ap.add_argument("--history-days", type=int, default=120, help="each org's age = the first sync's span")
    ap.add_argument("--mode", choices=("tenants", "separate"), default="tenants",
                    help="tenants: one `run --all-tenants --parallel N`; separate: one single-org run per org")
    ap.add_argument("--parallel", type=int, default=0, help="--parallel (default: the org count)")
    ap.add_argument("--destination", choices=("duckdb", "postgres"), default="duckdb")
    ap.add_argument("--rpm", type=int, default=None, help="pipeline --requests-per-minute (default: its own)")
    ap.add_argument("--latency-ms", type=int, default=1000)
    ap.add_argument("--jitter-ms", type=int, default=2000)
    ap.add_argument("--no-nightly", action="store_true", help="first sync only")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before a run is killed")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.orgs.split(",") if s.strip()]

    results: list[tuple[int, list[Phase]]] = [(n, run_size(n, args)) for n in sizes]
    first = [(n, ph[0]) for n, ph in results]
    figures = [
        f"simulator: `litmos-sim serve --orgs N --scale {args.scale} --history-days {args.history_days} --rate-limit "
        f"{VENDOR_RPM} --latency-ms {args.latency_ms} --latency-jitter-ms {args.jitter_ms}` in its own process "
        f"(ticking clocks); pipeline: "
        + ("`litmos-sync run --all-tenants --parallel "
           f"{args.parallel or 'N'} --no-dbt`" if args.mode == "tenants" else "one single-org `litmos-sync run --no-dbt` per org")
        + f", {args.destination}, --start-date = each org's first day (whole history), requests_per_minute "
        f"{args.rpm or 'default'}; nightly = one simulated day of activity in every org, then the same command",
        f"machine: {CORES} cores, shared with other sessions (load averages below)",
    ]
    figures += [line for n, phases in results for p in phases for line in p.lines(n)]
    figures.append(f"CPU per org-minute at full API speed (100 requests) and orgs {CORES} cores sustain at "
                   f"{CORES * 60} CPU s a minute (the simulator's CPU not counted: it stands for Litmos): "
                   + "; ".join(capacity(first)))
    worst = max((p.ratio for n, p in first if n == max(sizes)), default=float("inf"))
    targets = [
        Target(f"{max(sizes)} orgs: first-sync wall <= 1.10x the slowest org's floor", worst <= 1.10, f"{worst:.3f}"),
        Target("0 rate-limit errors", all(sum(o.limited for o in p.orgs) == 0 for _, ph in results for p in ph),
               str(sum(o.limited for _, ph in results for p in ph for o in p.orgs))),
        Target("every run exits 0", all(not p.m.errors for _, ph in results for p in ph),
               "; ".join(e[:200] for _, ph in results for p in ph for e in p.m.errors) or "all 0"),
    ]
    notes = ["wall/floor uses the floor of benchmark 2 (requests / 100 per min), not counting the last "
             "response's latency (1-3 s); the org's span is first to last request arrival",
             "CPU: wait4 rusage of the CLI process(es), which includes every child they reaped (the tenants' "
             "processes); peak RSS: the highest sum of VmRSS over the live tree, sampled every 0.2 s"]
    if max(f.m.load_before[0] for _, ph in results for f in ph) > CORES:
        notes.append("the machine was loaded (load average above its core count): wall/floor and CPU per "
                     "org-minute need a rerun on a quiet machine")
    record("fleet", f"Issue 15: {args.orgs} orgs at {VENDOR_RPM}/min each, 1-3 s latency ({args.mode}, "
                    f"{args.destination})", figures, targets, notes)
    print(figures[-1])
    return 0
