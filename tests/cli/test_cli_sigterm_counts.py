"""SIGTERM after some batches committed: `status` shows the rows the run committed, never more than the table.

Before issue 12 a failed run's history row took the progress bars' count of records received, including
the pages of the batch that was cut off: `rows last 166, rows total 39` for users.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from litmos_sim import SimConfig, run_simulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = dt.datetime(2026, 1, 15, 10, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_sigterm_after_a_committed_batch_counts_are_consistent(tmp_path, warehouse, request):
    # 16 windows, one batch each: the run is still going 2 s after its first commit, however fast the machine.
    cfg = SimConfig(seed=11, scale=300, history_days=110, latency_ms=1000, now=NOW)
    state = tmp_path / "state"
    with run_simulator(cfg) as sim:
        env = dict(os.environ, SOURCES__LITMOS__API_KEY=sim.api_key, SOURCES__LITMOS__BASE_URL=sim.base_url,
                   SOURCES__LITMOS__WINDOWS_PER_BATCH="1", SOURCES__LITMOS__MAX_WORKERS="2", PYTHONPATH=ROOT)
        if warehouse == "duckdb":
            env["DESTINATION__DUCKDB__CREDENTIALS"] = str(tmp_path / "w.duckdb")
        else:
            env["DESTINATION__POSTGRES__CREDENTIALS"] = request.getfixturevalue("pg_database")
        common = ["--destination", warehouse, "--state-dir", str(state)]
        run = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--no-dbt", "--quiet",
                                "--start-date", "2025-10-01", "--requests-per-minute", "0",
                                "--resources", "users,course_results", *common],
                               env=env, cwd=ROOT, stderr=subprocess.PIPE)
        loaded = state / "litmos" / "load" / "loaded"
        deadline = time.monotonic() + 90
        while not (loaded.is_dir() and any(loaded.iterdir())) and run.poll() is None:
            assert time.monotonic() < deadline, "no batch committed"
            time.sleep(0.02)
        time.sleep(2.0)  # the next batch's pages are arriving
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 130, err.decode()[-2000:]
        status = subprocess.run([sys.executable, "-m", "pipelines.cli", "status", "--format", "json", *common],
                                env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert status.returncode == 0, status.stderr.decode()[-2000:]
    rows = {r["resource"]: r for r in json.loads(status.stdout)}
    assert rows["users"]["last_status"] == "failed"
    assert rows["users"]["rows_in_table"], rows  # the committed batch's users are there
    for name in ("users", "course_results"):
        r = rows[name]
        # the run is this warehouse's only one: what it committed is exactly what the table holds
        assert r["last_rows"] == (r["rows_in_table"] or 0), (name, r)
