"""A group of commands started at once, measured as one: wall, CPU (rusage and /proc), summed peak RSS.

The CPU of each command's whole tree comes from wait4() on it: the kernel adds to a process the rusage of
every child it reaped, so a CLI that spawns one process per tenant reports them all. Memory is sampled:
the highest sum of VmRSS over the live tree every 0.2 s (the peak of concurrent processes, which rusage's
ru_maxrss, a maximum over processes, does not give), with each process's own VmHWM.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

CLK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of a live process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            rest = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK


def _mem_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process in KiB; zeros when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            vals = dict(line.split(":", 1) for line in fh if line.startswith(("VmRSS:", "VmHWM:")))
    except OSError:
        return 0, 0
    return int(vals.get("VmRSS", "0").split()[0]), int(vals.get("VmHWM", "0").split()[0])


class TreeSampler:
    """Samples the process trees under some root pids: peak summed RSS, each process's VmHWM and CPU."""

    def __init__(self, roots: list[int], interval: float = 0.2):
        self.roots, self.interval = set(roots), interval
        self.peak_rss_kb = self.peak_procs = 0
        self.hwm_kb: dict[int, int] = {}
        self.cpu_s: dict[int, float] = {}  # last seen: a cross-check of rusage (misses each one's last 0.2 s)
        self.series: list[tuple[datetime, float]] = []  # (when, CPU s of the processes seen so far)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> dict[int, float]:
        stats = {int(e): st for e in os.listdir("/proc") if e.isdigit() and (st := proc_stat(int(e)))}
        seen = {p for p in self.roots if p in stats}
        while more := {p for p, (pp, _) in stats.items() if pp in seen and p not in seen}:
            seen |= more
        return {p: stats[p][1] for p in seen}

    def _loop(self) -> None:
        while not self._stop.is_set():
            pids = self._tree()
            total = 0
            for pid, cpu in pids.items():
                rss, hwm = _mem_kb(pid)
                total += rss
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
                self.cpu_s[pid] = cpu
            self.series.append((datetime.now(timezone.utc), sum(self.cpu_s.values())))
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
    sampled_cpu_s: float
    exits: list[int]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    started: datetime
    ended: datetime
    errors: list[str] = field(default_factory=list)
    series: list[tuple[datetime, float]] = field(default_factory=list)

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s


def run_group(cmds: list[tuple[list[str], dict[str, str]]], apart_pid: int, log_dir: str,
              timeout: float) -> RunMeasure:
    """Starts the commands at once (cwd and logs in ``log_dir``), waits for all, kills them after ``timeout``.

    Args:
        cmds: (argv, environment) of each command.
        apart_pid: A live process (the simulator) whose CPU over the same time is measured apart.
        log_dir: Working directory; each command's output goes to ``run-NN.log`` there.
        timeout: Seconds before the commands still running are killed.
    """
    load0 = os.getloadavg()
    sim0 = (proc_stat(apart_pid) or (0, 0.0))[1]
    procs, logs = [], []
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    for i, (cmd, env) in enumerate(cmds):
        log = open(os.path.join(log_dir, f"run-{i:02d}.log"), "w+", encoding="utf-8")  # noqa: SIM115
        logs.append(log)
        procs.append(subprocess.Popen(cmd, cwd=log_dir, env=env, stdout=log, stderr=subprocess.STDOUT))
    user = sys_ = 0.0
    exits: dict[int, int] = {}  # pid -> exit code
    try:
        with TreeSampler([p.pid for p in procs]) as sampler:
            while len(exits) < len(procs):
                for p in [p for p in procs if p.pid not in exits]:
                    pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                    if pid:
                        exits[p.pid] = p.returncode = os.waitstatus_to_exitcode(status)
                        user, sys_ = user + usage.ru_utime, sys_ + usage.ru_stime
                if time.monotonic() - t0 > timeout:
                    break
                time.sleep(0.05)
    finally:  # timeout, Ctrl-C or SIGTERM of the benchmark: leave no command running
        for p in procs:
            if p.pid not in exits:
                p.kill()
                exits[p.pid] = os.waitstatus_to_exitcode(os.wait4(p.pid, 0)[1])
    wall, ended = time.monotonic() - t0, datetime.now(timezone.utc)
    sim1 = (proc_stat(apart_pid) or (0, sim0))[1]
    errors = []
    for p, log in zip(procs, logs):
        log.seek(0)
        if exits[p.pid] != 0:
            errors.append(f"exit {exits[p.pid]}: " + " | ".join(log.read().strip().splitlines()[-6:]))
        log.close()
    return RunMeasure(wall, user, sys_, sim1 - sim0, sampler.peak_rss_kb / 1024,
                      max(sampler.hwm_kb.values(), default=0) / 1024, sampler.peak_procs, sum(sampler.cpu_s.values()),
                      [exits[p.pid] for p in procs], load0, os.getloadavg(), started, ended, errors,
                      sampler.series)
