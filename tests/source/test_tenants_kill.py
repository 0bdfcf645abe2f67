"""kill -9 of a parallel many-tenant run: its children die with it (no orphan keeps a lock), and the
rerun makes every tenant's DuckDB dataset exact."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import duckdb
import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines import lock
from pipelines.sync import read_cursors
from .truth import diff_all

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)
SEEDS = {"acme": 31, "beta": 32, "gamma": 33}


def _start(sims, tmp_path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__LITMOS__")}
    env.update(SOURCES__LITMOS__WINDOWS_PER_BATCH="1", SOURCES__LITMOS__MAX_WORKERS="4",
               DESTINATION__DUCKDB__CREDENTIALS=str(tmp_path / "w.duckdb"), PYTHONPATH=ROOT)
    for name, sim in sims.items():
        env[f"SOURCES__LITMOS__TENANTS__{name.upper()}__API_KEY"] = sim.api_key
        env[f"SOURCES__LITMOS__TENANTS__{name.upper()}__BASE_URL"] = sim.base_url
    argv = [sys.executable, "-m", "pipelines.cli", "run", "--no-dbt", "--quiet", "--start-date", "2025-12-01",
            "--requests-per-minute", "0", "--state-dir", str(tmp_path / "state"), "--parallel", "3"]
    return subprocess.Popen(argv, env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _lock_free(state_dir: str, pipeline_name: str) -> bool:
    try:
        lock.release(lock.acquire(state_dir, pipeline_name))
        return True
    except lock.PipelineLockedError:
        return False


def _alive(pid: int) -> bool:
    """Running (a zombie left for init to reap counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.soak
@pytest.mark.slow
def test_kill_9_of_a_parallel_run_leaves_no_orphan_and_the_rerun_is_exact(tmp_path):
    state = str(tmp_path / "state")
    with run_simulator(SimConfig(seed=SEEDS["acme"], scale=200, history_days=40, latency_ms=15, now=NOW,
                                 api_key="sk-acme-0123456789")) as acme, \
            run_simulator(SimConfig(seed=SEEDS["beta"], scale=200, history_days=40, latency_ms=15, now=NOW,
                                    api_key="sk-beta-0123456789")) as beta, \
            run_simulator(SimConfig(seed=SEEDS["gamma"], scale=200, history_days=40, latency_ms=15, now=NOW,
                                    api_key="sk-gamma-0123456789")) as gamma:
        sims = {"acme": acme, "beta": beta, "gamma": gamma}
        proc = _start(sims, tmp_path)
        deadline = time.monotonic() + 120
        # Kill once every tenant has committed a batch (a cursor in its state) and is still reading.
        while proc.poll() is None and not all(
                any(read_cursors(state, f"litmos__{name}").values()) for name in sims):
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        if proc.poll() is not None:
            _, err = proc.communicate(timeout=60)
            pytest.fail(f"the run exited {proc.returncode} before the kill: {err.decode(errors='replace')[-3000:]}")
        children = {name: lock.read_holder(lock.lock_path(state, f"litmos__{name}")).get("pid") for name in sims}
        assert all(isinstance(pid, int) and pid != proc.pid for pid in children.values()), children
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # The children die with their parent (PR_SET_PDEATHSIG), not when their work is done.
        # (A multi-threaded process shows as a zombie once its main thread is gone, before its last thread
        # has closed its files: the locks are the proof.)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children.values()) or not all(
                _lock_free(state, f"litmos__{name}") for name in sims):
            assert time.monotonic() < deadline, f"children of the killed run still running: {children}"
            time.sleep(0.05)
        for sim in sims.values():
            sim.clear_requests()

        proc = _start(sims, tmp_path)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-3000:]
        # Each tenant had work left: the rerun read more than the clock probe.
        assert all(len(sim.requests()) > 10 for sim in sims.values())
        conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            for name, sim in sims.items():
                assert diff_all(sim, conn, f"litmos_raw__{name}") == [], name
        finally:
            conn.close()
