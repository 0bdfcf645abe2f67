"""Shared helpers of the benchmarks: simulator processes, child pipeline runs, RSS, windows, the results doc.

Everything here talks to 127.0.0.1 only. Each run's figures go to a file of their own under docs/benchmarks/;
the current table in docs/benchmarks.md is edited by hand from them.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
RUNS_DIR = ROOT / "docs" / "benchmarks"
PY = sys.executable
API_KEY = "bench-key"
SOURCE = "bench"
PAGE = 1000
VENDOR_RPM = 100


# ----------------------------------------------------------------------------------------------- doc
@dataclass
class Target:
    """One target of issue 5 and whether this run met it (None = not measured)."""

    name: str
    met: bool | None
    detail: str

    def line(self) -> str:
        mark = {True: "MET", False: "NOT MET", None: "NOT MEASURED"}[self.met]
        return f"- **{mark}** {self.name}: {self.detail}"


def command_line() -> str:
    """The command that is running, as the user would retype it from the repo root."""
    args = " ".join(shlex.quote(a) for a in sys.argv[1:])
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items())
                   if k.startswith("SOURCES__LITMOS__") and "KEY" not in k)  # tuning knobs, never the key
    return f"{env} .venv/bin/python -m bench {args}".strip()


def write_run(bench: str, heading: str, body: str) -> Path | None:
    """Writes one run's entry to ``docs/benchmarks/<YYYY-MM-DD-HHMM>-<bench>.md`` and prints where.

    Never overwrites: a second run of the same benchmark within the minute gets a ``-2`` suffix. With
    ``BENCH_NO_RECORD`` set (trial runs) the entry is printed instead and None returned.
    """
    now = datetime.now(timezone.utc)
    text = f"# {heading} ({now:%Y-%m-%d %H:%M} UTC)\n\n{body.strip()}\n"
    if os.environ.get("BENCH_NO_RECORD"):
        print(text)
        return None
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    for n in range(1, 100):
        path = RUNS_DIR / f"{now:%Y-%m-%d-%H%M}-{bench}{'' if n == 1 else f'-{n}'}.md"
        try:
            with open(path, "x", encoding="utf-8") as fh:  # 'x': never clobber another run's file
                fh.write(text)
        except FileExistsError:
            continue
        print(f"[bench] wrote {path.relative_to(ROOT)}; the current table in docs/benchmarks.md is edited by hand")
        return path
    raise RuntimeError(f"no free file name for {bench} in {RUNS_DIR}")


def record(bench: str, title: str, figures: list[str], targets: list[Target], notes: list[str] = ()) -> None:
    """Writes one dated entry of benchmark ``bench`` (its name in ``python -m bench``): the exact command,
    the figures, the targets met or not."""
    lines = [f"Command: `{command_line()}`", ""]
    lines += [f"- {f}" for f in figures]
    lines += [""] + [t.line() for t in targets]
    if notes:
        lines += [""] + [f"Note: {n}" for n in notes]
    write_run(bench, title, "\n".join(lines))
    for t in targets:
        print("[bench] " + t.line()[2:])


def say(msg: str) -> None:
    """Progress line on stderr (the figure goes last on stdout)."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- windows
def floor_day(d: datetime) -> datetime:
    d = d.astimezone(timezone.utc)
    return d.replace(hour=0, minute=0, second=0, microsecond=0)


def ideal_windows(start: datetime, end: datetime, days: int = 7) -> list[tuple[datetime, datetime]]:
    """Fewest day-aligned windows of <= `days` covering [floor(start), floor(end)) (bench's own plan)."""
    out, since, end = [], floor_day(start), floor_day(end)
    while since < end:
        to = min(since + timedelta(days=days), end)
        out.append((since, to))
        since = to
    return out


def api_date(d: datetime) -> str:
    return d.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def min_pages(rows: int) -> int:
    """Fewest requests to read `rows` records at 1000 a page (at least one request per query)."""
    return max(1, math.ceil(rows / PAGE))


# ------------------------------------------------------------------------------------------ processes
def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak resident set (VmHWM) of a live process in MB, None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


@dataclass
class SimProcess:
    """A `litmos-sim serve` running in its own process."""

    proc: subprocess.Popen
    base_url: str
    stderr_path: str
    peak_mb: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def hwm_mb(self) -> float | None:
        value = vm_hwm_mb(self.proc.pid)
        if value is not None:
            self.peak_mb = value
        return self.peak_mb

    def server_now(self) -> datetime:
        """The simulator clock, from the Date header of one cheap API call."""
        import requests

        r = requests.get(f"{self.base_url}/org/teams", headers={"apikey": API_KEY}, timeout=600,
                         params={"source": SOURCE, "since": "2000-01-01 00:00:00",
                                 "to": "2000-01-02 00:00:00", "limit": 1})
        return parsedate_to_datetime(r.headers["Date"]).astimezone(timezone.utc)


@contextmanager
def sim_process(*, seed: int = 1, scale: int, history_days: int, rate_limit: int | None = None,
                latency_ms: int = 0, latency_jitter_ms: int = 0, extra: list[str] = (),
                start_timeout: float = 1800) -> Iterator[SimProcess]:
    """Runs the simulator CLI in its own process (own memory, own GIL) and yields its base URL."""
    cmd = [PY, "-m", "litmos_sim.cli", "serve", "--port", "0", "--seed", str(seed), "--scale", str(scale),
           "--api-key", API_KEY, "--history-days", str(history_days)]
    cmd += ["--rate-limit", str(rate_limit or 0)]  # the CLI defaults to 100/min; 0 = unlimited
    if latency_ms:
        cmd += ["--latency-ms", str(latency_ms)]
    if latency_jitter_ms:
        cmd += ["--latency-jitter-ms", str(latency_jitter_ms)]
    cmd += list(extra)
    with server_process(cmd, "simulator", start_timeout) as sim:
        yield sim


@contextmanager
def server_process(cmd: list[str], what: str, start_timeout: float = 1800) -> Iterator[SimProcess]:
    """Starts a server process that prints its base URL on its first stdout line; stops it afterwards."""
    err = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
    say(f"starting {what}: " + " ".join(cmd[1:]))
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    sim = None
    try:
        line = _readline_with_timeout(proc, start_timeout)
        if "http" not in line:
            raise RuntimeError(f"{what} did not start; see {err.name}: {_tail(err.name)}")
        url = line.strip()[line.strip().index("http"):].split()[0]
        sim = SimProcess(proc, url.rstrip("/"), err.name)
        # drain stdout so the server never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        say(f"{what} up at {sim.base_url} after {time.monotonic() - t0:.1f}s (pid {proc.pid})")
        yield sim
    finally:
        if sim is not None:
            sim.hwm_mb()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _readline_with_timeout(proc: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else ""


def _tail(path: str, n: int = 800) -> str:
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return ""


@dataclass
class ChildRun:
    """Result of a benchmark step run in a child Python process."""

    result: dict[str, Any]
    wall_s: float
    maxrss_mb: float
    returncode: int
    stderr_tail: str = ""


def run_child(task: str, kwargs: dict[str, Any], timeout: float = 1800) -> ChildRun:
    """Runs `bench._child TASK` with JSON kwargs in a fresh process; returns its JSON result and peak RSS.

    Peak RSS comes from wait4()'s rusage of that child alone (ru_maxrss, KiB on Linux).
    """
    err = tempfile.NamedTemporaryFile(prefix=f"bench-{task}-", suffix=".log", delete=False)
    out = tempfile.NamedTemporaryFile(prefix=f"bench-{task}-", suffix=".json", delete=False)
    cmd = [PY, "-m", "bench._child", task, json.dumps(kwargs), out.name]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        result = json.loads(Path(out.name).read_text() or "{}")
    except ValueError:
        result = {}
    return ChildRun(result, wall, usage.ru_maxrss / 1024.0, proc.returncode, _tail(err.name, 3000))


# ------------------------------------------------------------------------------------------ results
def result_to_dict(result: Any) -> dict[str, Any]:
    """A SyncResult (whatever its exact shape) as plain JSON-able data."""
    def conv(v: Any) -> Any:
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, (datetime, date)):
            return v.isoformat()
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, set)):
            return [conv(x) for x in v]
        if hasattr(v, "__dataclass_fields__"):
            return {k: conv(getattr(v, k)) for k in v.__dataclass_fields__}
        if hasattr(v, "__dict__"):
            return {k: conv(x) for k, x in vars(v).items() if not k.startswith("_")}
        return repr(v)
    return conv(result)


def rows_of(result: dict[str, Any], resource: str | None = None) -> int:
    res = result.get("resources") or {}
    names = [resource] if resource else list(res)
    return sum(int((res.get(n) or {}).get("rows") or 0) for n in names)


def fmt_s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds:.1f} s ({seconds / 60:.2f} min)"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")
