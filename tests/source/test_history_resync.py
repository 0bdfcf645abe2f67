"""--resync of one table killed by kill -9 mid-way, then a plain rerun: the old rows stay until the new copy
is complete, then it replaces them together with the cursor, exactly, on both warehouses."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import duckdb
import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import build_marts
from pipelines.sync import read_cursors
from tests.dbt.compliance_oracle import compute
from .test_history import NOW, ROOT, _compliance, _diff, fast_retries  # noqa: F401 - fixture


RESYNC_RUNNER = """
import os
from pipelines.sync import sync
sync(destination=os.environ["T_DEST"], credentials=os.environ["T_DB"], state_dir=os.environ["T_STATE"],
     requests_per_minute=0, resync=os.environ.get("T_RESYNC") or None)
print("DONE")
"""


def _start(sim, tmp_path, credentials, destination, resync=""):
    env = dict(os.environ, SOURCES__LITMOS__API_KEY=sim.api_key, SOURCES__LITMOS__BASE_URL=sim.base_url,
               SOURCES__LITMOS__WINDOWS_PER_BATCH="1", SOURCES__LITMOS__MAX_WORKERS="2",
               T_DB=credentials, T_DEST=destination, T_STATE=str(tmp_path / "state"), T_RESYNC=resync,
               PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-c", RESYNC_RUNNER], env=env, cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _sql(destination, credentials, sql, write=False):
    if destination == "duckdb":
        conn = duckdb.connect(credentials, read_only=not write)
    else:
        import psycopg2

        conn = psycopg2.connect(credentials)
        conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchall() if cur.description else None
    finally:
        conn.close()


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_resync_of_one_table_killed_mid_way_then_rerun_replaces_it_exactly(tmp_path, destination, request):
    credentials = request.getfixturevalue("pg_database") if destination == "postgres" else str(tmp_path / "w.db")
    cfg = SimConfig(seed=29, scale=200, api_key="hist-key", history_days=150, now=NOW, latency_ms=5)
    with run_simulator(cfg) as sim:
        proc = _start(sim, tmp_path, credentials, destination)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
        # A stale row the API no longer returns: only a re-sync removes it.
        _sql(destination, credentials, "insert into litmos_raw.course_results (user_id, id, name, _dlt_load_id, "
             "_dlt_id) values ('ghost', 'ghost', 'x', 'ghost-load', 'ghost-row')", write=True)
        before = _sql(destination, credentials, "select count(*) from litmos_raw.course_results")[0][0]
        sim.advance(timedelta(days=1), activity=True)
        start_count = len(sim.requests())
        proc = _start(sim, tmp_path, credentials, destination, resync="course_results")
        deadline = time.monotonic() + 120
        while len(sim.requests()) < start_count + 60 and proc.poll() is None:
            assert time.monotonic() < deadline, "the re-sync made no progress"
            time.sleep(0.01)
        assert proc.poll() is None, "the re-sync finished before the kill"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # The old rows stay until the copy is complete.
        assert _sql(destination, credentials, "select count(*) from litmos_raw.course_results")[0][0] >= before
        assert _sql(destination, credentials,
                    "select count(*) from litmos_raw.course_results where id = 'ghost'") == [(1,)]
        proc = _start(sim, tmp_path, credentials, destination)  # a plain rerun carries the re-sync on
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert _diff(sim, destination, credentials) == []
        assert _sql(destination, credentials, "select count(*) from litmos_raw.course_results__resync") == [(0,)]
        assert read_cursors(str(tmp_path / "state"))["course_results"] == sim.now()
        as_of = sim.now().date()
        built = build_marts(destination, credentials, vars={"as_of_date": as_of.isoformat()}, quiet=True)
        assert {n.status for n in built.nodes} <= {"success", "pass"}
        assert _compliance(destination, credentials) == compute(sim, as_of).compliance
