"""Two `litmos-sync run`s on one state dir: the second is refused (one line, exit 2), the first is exact.

Without a lock of its own (before issue 12) the second run loaded the first one's pending package, skipped
its own batch and moved the cursors past it: the first exited 0 with rows missing for good.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import psycopg2

from litmos_sim import SimConfig, run_simulator
from pipelines import cli
from tests.source.truth import diff_all

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = dt.datetime(2026, 1, 15, 10, 30, tzinfo=dt.timezone.utc)


def _cli(args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_second_run_on_one_state_dir_is_refused_and_the_first_is_exact_postgres(tmp_path, pg_database):
    cfg = SimConfig(seed=11, scale=200, history_days=40, latency_ms=30, now=NOW)
    with run_simulator(cfg) as sim:
        env = dict(os.environ, SOURCES__LITMOS__API_KEY=sim.api_key, SOURCES__LITMOS__BASE_URL=sim.base_url,
                   SOURCES__LITMOS__WINDOWS_PER_BATCH="1", SOURCES__LITMOS__MAX_WORKERS="2",
                   DESTINATION__POSTGRES__CREDENTIALS=pg_database, PYTHONPATH=ROOT)
        args = ["run", "--destination", "postgres", "--no-dbt", "--quiet", "--start-date", "2025-12-01",
                "--requests-per-minute", "0", "--state-dir", str(tmp_path / "state")]
        first = _cli(args, env)
        deadline = time.monotonic() + 90
        # the first run is loading batches (a dozen windows of 17 resources fetched) when the second starts
        while len(sim.requests()) < 60 and first.poll() is None:
            assert time.monotonic() < deadline, "first run made no progress"
            time.sleep(0.02)
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        second = _cli(args, env)
        out2, err2 = second.communicate(timeout=180)
        out1, err1 = first.communicate(timeout=300)
        assert first.returncode == 0, err1.decode()[-2000:]
        assert second.returncode == 2, err2.decode()[-2000:]
        lines = err2.decode().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(
            f"litmos-sync: error: another run of this pipeline is in progress (pid {first.pid} since 20")
        assert "into postgres litmos_raw" in lines[0]
        conn = psycopg2.connect(pg_database)
        try:
            assert diff_all(sim, conn) == []
            with conn.cursor() as cur:  # the refused run wrote no history row
                cur.execute("select count(distinct run_id) from litmos_raw._litmos_sync_runs")
                assert cur.fetchone()[0] == 1
        finally:
            conn.close()
        # and a later solo run on the same state dir works
        again = _cli(args, env)
        _, err3 = again.communicate(timeout=300)
        assert again.returncode == 0, err3.decode()[-2000:]


HOLD = """
import sys, time
from pipelines.lock import acquire
acquire(sys.argv[1], "litmos", destination="duckdb", dataset="litmos_raw")
print("LOCKED", flush=True)
time.sleep(120)
"""


def test_run_refused_while_locked_exits_2_before_any_request(tmp_path, monkeypatch, capsys):
    with run_simulator(SimConfig(seed=3, scale=200, history_days=5, now=NOW)) as sim:
        monkeypatch.setenv("SOURCES__LITMOS__API_KEY", sim.api_key)
        monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", sim.base_url)
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "state")], cwd=ROOT,
                                  stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=ROOT))
        try:
            assert holder.stdout.readline().strip() == b"LOCKED"
            code = cli.main(["run", "--no-dbt", "--state-dir", str(tmp_path / "state"),
                             "--requests-per-minute", "0"])
            _, err = capsys.readouterr()
            assert code == 2
            assert err.startswith(f"litmos-sync: error: another run of this pipeline is in progress "
                                  f"(pid {holder.pid} since ") and err.count("\n") == 1
            assert sim.requests() == [] and not (tmp_path / "w.duckdb").exists()
        finally:
            holder.kill()
            holder.wait()
        # the holder was killed: its lock is taken over
        code = cli.main(["run", "--no-dbt", "--state-dir", str(tmp_path / "state"), "--requests-per-minute", "0",
                         "--resources", "teams", "--quiet"])
        assert code == 0, capsys.readouterr().err
