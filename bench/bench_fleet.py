"""Issue 15: many orgs on one machine, each at its own 100/min with 1-3 s latency.

One `litmos-sim serve --orgs N` process (its CPU is measured apart from the pipeline's) serves orgs
org01..orgNN, each with its own key, data and 100/min budget. The pipeline is the CLI, as a user runs it:
`litmos-sync run --all-tenants --parallel N --no-dbt` with one tenant per org in the environment
(`SOURCES__LITMOS__TENANTS__ORG01__API_KEY`, ...), or with `--mode separate` one single-org
`litmos-sync run` per org, each with its own DuckDB file (the baseline without tenants).

Per size of `--orgs` (e.g. `5,10,20`: a sweep, each size on a fresh simulator and warehouse): a first
sync of the orgs' whole history, then (unless `--no-nightly`) one simulated day of activity in every org
and the incremental run. Measured per run:
- each org's requests (the simulator's log) and its own floor, requests / 100 per min;
- the run's wall (launch to exit of the CLI) / the slowest org's floor (target <= 1.10);
- CPU seconds of the pipeline processes (wait4 rusage of the CLI process(es), which holds every tenant
  child it reaped) and of the simulator (/proc/<pid>/stat, apart);
- peak RSS: the highest sum of VmRSS over the live process tree (sampled every 0.2 s), and the largest
  single process (VmHWM);
- CPU per org-minute at full API speed (100 requests), hence how many orgs 2 cores sustain.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from bench.common import PY, ROOT, VENDOR_RPM, Target, fmt_s, record, say, server_process

DESCRIPTION = "issue 15: N orgs at 100/min each (1-3 s latency): wall vs the slowest org's floor, CPU, RSS, orgs/machine"
SOURCE = "bench-fleet"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") / 1024


# ------------------------------------------------------------------------------------------ processes
def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of a live process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            rest = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK


def _mem_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process in KiB; zeros when it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


class TreeSampler:
    """Samples the process trees under some root pids: peak summed RSS, each process's VmHWM, counts."""

    def __init__(self, roots: list[int], interval: float = 0.2):
        self.roots, self.interval = set(roots), interval
        self.peak_rss_kb = 0
        self.peak_procs = 0
        self.hwm_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        parent = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                st = _stat(int(entry))
                if st:
                    parent[int(entry)] = st[0]
        out = [p for p in self.roots if p in parent]
        seen = set(out)
        while True:
            more = [p for p, pp in parent.items() if pp in seen and p not in seen]
            if not more:
                return out
            out += more
            seen.update(more)

    def _loop(self) -> None:
        while not self._stop.is_set():
            pids = self._tree()
            total = 0
            for pid in pids:
                rss, hwm = _mem_kb(pid)
                total += rss
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
            self.peak_rss_kb = max(self.peak_rss_kb, total)
            self.peak_procs = max(self.peak_procs, len(pids))
            self._stop.wait(self.interval)


@dataclass
class RunMeasure:
    """One pipeline run: wall, CPU of the pipeline and of the simulator, memory, exits."""

    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    sim_cpu_s: float
    peak_rss_mb: float
    max_process_mb: float
    peak_procs: int
    exits: list[int]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    errors: list[str] = field(default_factory=list)

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s


def run_pipelines(cmds: list[tuple[list[str], dict[str, str]]], sim_pid: int, log_dir: str,
                  timeout: float) -> RunMeasure:
    """Starts the commands at once, waits for all; rusage from wait4 of each (their reaped children included)."""
    load0 = os.getloadavg()
    sim0 = (_stat(sim_pid) or (0, 0.0))[1]
    procs, logs = [], []
    t0 = time.monotonic()
    for i, (cmd, env) in enumerate(cmds):
        log = open(os.path.join(log_dir, f"run-{i:02d}.log"), "w+", encoding="utf-8")  # noqa: SIM115
        logs.append(log)
        procs.append(subprocess.Popen(cmd, cwd=log_dir, env=env, stdout=log, stderr=subprocess.STDOUT))
    user = sys_ = 0.0
    exits: dict[int, int] = {}
    with TreeSampler([p.pid for p in procs]) as sampler:
        while len(exits) < len(procs):
            for p in procs:
                if p.pid in exits:
                    continue
                pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    exits[p.pid] = os.waitstatus_to_exitcode(status)
                    p.returncode = exits[p.pid]
                    user += usage.ru_utime
                    sys_ += usage.ru_stime
            if time.monotonic() - t0 > timeout:
                for p in procs:
                    if p.pid not in exits:
                        p.kill()
            time.sleep(0.05)
    wall = time.monotonic() - t0
    sim1 = (_stat(sim_pid) or (0, sim0))[1]
    errors = []
    for p, log in zip(procs, logs):
        log.seek(0)
        text = log.read()
        log.close()
        if exits[p.pid] != 0:
            errors.append(f"exit {exits[p.pid]}: " + " | ".join(text.strip().splitlines()[-6:]))
    return RunMeasure(wall, user, sys_, sim1 - sim0, sampler.peak_rss_kb / 1024, max(sampler.hwm_kb.values(),
                      default=0) / 1024, sampler.peak_procs, [exits[p.pid] for p in procs], load0,
                      os.getloadavg(), errors)


# ------------------------------------------------------------------------------------------ simulator
def org_names(n: int) -> list[str]:
    width = 2 if n < 100 else 3
    return [f"org{i:0{width}d}" for i in range(1, n + 1)]


def org_requests(root: str, name: str) -> list[dict]:
    return requests.get(f"{root}/_sim/orgs/{name}/requests", timeout=600).json()


def clear_requests(root: str, name: str) -> None:
    requests.delete(f"{root}/_sim/orgs/{name}/requests", timeout=600).raise_for_status()


def advance_day(root: str, name: str) -> dict:
    r = requests.post(f"{root}/_sim/orgs/{name}/clock", json={"advance_seconds": 86400, "activity": True},
                      timeout=600)
    r.raise_for_status()
    return r.json().get("events") or {}


@dataclass
class OrgFigures:
    name: str
    requests: int
    statuses: dict[int, int]
    limited: int
    rows: int
    span_s: float  # first to last request arrival (the simulator's ticking clock), latency of the last excluded

    @property
    def floor_s(self) -> float:
        return self.requests / VENDOR_RPM * 60.0


def org_figures(root: str, names: list[str]) -> list[OrgFigures]:
    out = []
    for name in names:
        recs = org_requests(root, name)
        ats = sorted(datetime.fromisoformat(r["at"]) for r in recs)
        span = (ats[-1] - ats[0]).total_seconds() if ats else 0.0
        out.append(OrgFigures(name, len(recs), dict(Counter(int(r["status"]) for r in recs)),
                              sum(1 for r in recs if r.get("fault") == "rate_limit"),
                              sum(int(r.get("rows") or 0) for r in recs if int(r["status"]) == 200), span))
    return out


# ------------------------------------------------------------------------------------------ pipeline
def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOURCES__LITMOS__", "DESTINATION__", "LITMOS_SYNC_"))}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def commands(mode: str, names: list[str], base_url: str, work: str, destination: str, dsn: str | None,
             parallel: int, start_date: str, rpm: int | None) -> list[tuple[list[str], dict[str, str]]]:
    """The CLI command(s) and environment(s) of one run of every org."""
    cli = [PY, "-m", "pipelines.cli", "run", "--no-dbt", "--quiet", "--destination", destination,
           "--start-date", start_date] + (["--requests-per-minute", str(rpm)] if rpm else [])
    env = _base_env()
    if destination == "postgres":
        env["DESTINATION__POSTGRES__CREDENTIALS"] = dsn or ""
    if mode == "tenants":
        env["DESTINATION__DUCKDB__CREDENTIALS"] = f"{work}/wh.duckdb"
        for name in names:
            pre = f"SOURCES__LITMOS__TENANTS__{name.upper()}__"
            env[pre + "API_KEY"], env[pre + "BASE_URL"], env[pre + "SOURCE"] = \
                f"litmos-sim-key-{name}", base_url, SOURCE
        return [(cli + ["--all-tenants", "--parallel", str(parallel), "--state-dir", f"{work}/state"], env)]
    out = []
    for name in names:  # separate: one single-org CLI per org, own state, own DuckDB file / own schema
        e = dict(env, SOURCES__LITMOS__API_KEY=f"litmos-sim-key-{name}", SOURCES__LITMOS__BASE_URL=base_url,
                 SOURCES__LITMOS__SOURCE=SOURCE, DESTINATION__DUCKDB__CREDENTIALS=f"{work}/wh-{name}.duckdb")
        out.append((cli + ["--state-dir", f"{work}/state-{name}", "--dataset", f"litmos_raw__{name}"], e))
    return out


def pg_database() -> tuple[str, str]:
    import psycopg2  # noqa: PLC0415

    name = f"bench_fleet_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pg_drop(name: str) -> None:
    import psycopg2  # noqa: PLC0415

    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


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

    @property
    def cpu_per_org_minute(self) -> float:
        return self.m.cpu_s / self.org_minutes if self.org_minutes else float("inf")

    def lines(self, n: int) -> list[str]:
        reqs = [o.requests for o in self.orgs]
        spans = [o.span_s / o.floor_s for o in self.orgs if o.floor_s]
        statuses = Counter()
        for o in self.orgs:
            statuses.update(o.statuses)
        m = self.m
        return [
            f"**{n} orgs, {self.kind}**: requests per org {min(reqs)}-{max(reqs)} (total {sum(reqs)}), statuses "
            f"{dict(statuses)}, rate-limit errors {sum(o.limited for o in self.orgs)}, rows {sum(o.rows for o in self.orgs)}",
            f"wall {fmt_s(m.wall_s)}; slowest org's floor ({self.slowest.name}, {self.slowest.requests} requests / "
            f"{VENDOR_RPM} per min) {fmt_s(self.slowest.floor_s)}; **WALL/FLOOR {self.ratio:.3f}**; each org's own span "
            f"(first to last request) / its floor: {min(spans, default=0):.3f}-{max(spans, default=0):.3f}",
            f"pipeline CPU {m.cpu_s:.1f} s (user {m.cpu_user_s:.1f}, sys {m.cpu_sys_s:.1f}) = {m.cpu_s / m.wall_s:.2f} "
            f"cores on average; {self.cpu_per_org_minute:.2f} CPU s per org-minute at full API speed "
            f"({self.org_minutes:.1f} org-minutes); simulator CPU {m.sim_cpu_s:.1f} s (apart)",
            f"peak RSS {m.peak_rss_mb:.0f} MB summed over {m.peak_procs} live pipeline processes at most; largest "
            f"single process {m.max_process_mb:.0f} MB; exits {sorted(Counter(m.exits).items())}",
            f"load average before {m.load_before[0]:.2f}/{m.load_before[1]:.2f}/{m.load_before[2]:.2f}, after "
            f"{m.load_after[0]:.2f}/{m.load_after[1]:.2f}/{m.load_after[2]:.2f}",
        ] + [f"FAILED: {e[:400]}" for e in m.errors]


def run_size(n: int, args: argparse.Namespace) -> list[Phase]:
    names = org_names(n)
    work = tempfile.mkdtemp(prefix=f"bench-fleet-{n}-")
    pg_name = dsn = None
    if args.destination == "postgres":
        pg_name, dsn = pg_database()
    cmd = [PY, "-m", "litmos_sim.cli", "serve", "--port", "0", "--orgs", str(n), "--seed", "1",
           "--scale", str(args.scale), "--history-days", str(args.history_days), "--rate-limit", str(VENDOR_RPM),
           "--latency-ms", str(args.latency_ms), "--latency-jitter-ms", str(args.jitter_ms)]
    phases = []
    try:
        with server_process(cmd, f"simulator ({n} orgs)") as sim:
            root = sim.base_url.rsplit("/v1.svc", 1)[0]
            start = (datetime.now(timezone.utc) - timedelta(days=args.history_days)).date().isoformat()
            cmds = commands(args.mode, names, sim.base_url, work, args.destination, dsn,
                            args.parallel or n, start, args.rpm)
            for kind in ["first sync"] + ([] if args.no_nightly else ["nightly"]):
                if kind == "nightly":
                    for name in names:
                        advance_day(root, name)
                for name in names:
                    clear_requests(root, name)
                say(f"{n} orgs: {kind} ({args.mode}, {args.destination})")
                m = run_pipelines(cmds, sim.pid, work, args.timeout)
                phase = Phase(kind, org_figures(root, names), m)
                phases.append(phase)
                say(f"{n} orgs: {kind} wall {m.wall_s:.1f} s, ratio {phase.ratio:.3f}, CPU {m.cpu_s:.1f} s, "
                    f"peak RSS {m.peak_rss_mb:.0f} MB, exits {m.exits}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pg_name:
            pg_drop(pg_name)
    return phases


# ------------------------------------------------------------------------------------------ main
def capacity(first: list[tuple[int, Phase]]) -> tuple[float, float, str]:
    """Orgs 2 cores sustain at full API speed: 120 CPU s per minute / the marginal CPU s per org-minute.

    The marginal cost is the slope of pipeline CPU against org-minutes across the sweep (the fixed cost of
    a run, interpreter and imports, drops out); with one size, the average.
    """
    pts = [(p.org_minutes, p.m.cpu_s) for _, p in first]
    if len(pts) >= 2:
        mx = sum(x for x, _ in pts) / len(pts)
        my = sum(y for _, y in pts) / len(pts)
        sxx = sum((x - mx) ** 2 for x, _ in pts)
        slope = sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else my / mx
        how = f"slope of pipeline CPU vs org-minutes over {len(pts)} sizes ({', '.join(str(n) for n, _ in first)} orgs)"
    else:
        slope = pts[0][1] / pts[0][0]
        how = "average of one size (fixed costs included: an overestimate)"
    cores = os.cpu_count() or 2
    return slope, cores * 60.0 / slope if slope > 0 else float("inf"), how


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
    slope, orgs_max, how = capacity(first)
    nightly = [(n, ph[1]) for n, ph in results if len(ph) > 1]
    figures = [
        f"simulator: `litmos-sim serve --orgs N --scale {args.scale} --history-days {args.history_days} --rate-limit "
        f"{VENDOR_RPM} --latency-ms {args.latency_ms} --latency-jitter-ms {args.jitter_ms}` in its own process "
        f"(ticking clocks); pipeline: "
        + ("`litmos-sync run --all-tenants --parallel "
           f"{args.parallel or 'N'} --no-dbt`" if args.mode == "tenants" else "one single-org `litmos-sync run --no-dbt` per org")
        + f", {args.destination}, --start-date = each org's first day (whole history), requests_per_minute "
        f"{args.rpm or 'default'}; nightly = one simulated day of activity in every org, then the same command",
        f"machine: {os.cpu_count()} cores, shared with other sessions (load averages below)",
    ]
    for n, phases in results:
        for p in phases:
            figures += p.lines(n)
    figures.append(f"CPU per org-minute at full API speed (100 requests): {slope:.2f} s ({how}); 2 cores give "
                   f"{(os.cpu_count() or 2) * 60} CPU s a minute: **about {orgs_max:.0f} orgs at full API speed** "
                   "before the pipeline's CPU is the limit (the simulator's CPU not counted: it stands for Litmos)")
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
    if nightly:
        notes.append("nightly: " + "; ".join(f"{n} orgs {p.m.wall_s:.1f} s = {p.ratio:.2f}x" for n, p in nightly))
    if max(f.m.load_before[0] for _, ph in results for f in ph) > (os.cpu_count() or 2):
        notes.append("the machine was loaded (load average above its core count): wall/floor and CPU per "
                     "org-minute need a rerun on a quiet machine")
    record("fleet", f"Issue 15: {args.orgs} orgs at {VENDOR_RPM}/min each, 1-3 s latency ({args.mode}, "
                    f"{args.destination})", figures, targets, notes)
    print(figures[-1])
    return 0
