"""kill -9 in the middle of a multi-batch backfill, several times, then a clean run: exact truth."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import duckdb

from litmos_sim import SimConfig, run_simulator
from pipelines.sync import read_cursors
from sources.litmos.settings import ENDPOINTS
from .truth import diff_all

UTC = timezone.utc
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = """
import os, sys
from pipelines.sync import sync
sync(credentials=os.environ["T_DB"], state_dir=os.environ["T_STATE"], start_date="2025-12-01",
     requests_per_minute=0)
print("DONE")
"""


def _start(sim, tmp_path) -> subprocess.Popen:
    env = dict(os.environ, SOURCES__LITMOS__API_KEY=sim.api_key, SOURCES__LITMOS__BASE_URL=sim.base_url,
               SOURCES__LITMOS__WINDOWS_PER_BATCH="1", SOURCES__LITMOS__MAX_WORKERS="4",
               T_DB=str(tmp_path / "w.duckdb"), T_STATE=str(tmp_path / "state"), TZ="Asia/Tokyo",
               PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-c", RUNNER], env=env, cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_mid_backfill_repeatedly_then_rerun_is_exact(tmp_path):
    cfg = SimConfig(seed=11, scale=200, history_days=40, latency_ms=15,
                    now=datetime(2026, 1, 15, 10, 30, tzinfo=UTC))
    with run_simulator(cfg) as sim:
        kills = 0
        for kill_after in (45, 40, 35):  # requests into each run
            start_count = len(sim.requests())
            proc = _start(sim, tmp_path)
            deadline = time.monotonic() + 60
            while len(sim.requests()) < start_count + kill_after and proc.poll() is None:
                assert time.monotonic() < deadline, "runner made no progress"
                time.sleep(0.02)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
        assert kills >= 2
        cursors = read_cursors(str(tmp_path / "state"))
        resumed = {t: c for t, c in cursors.items() if c is not None}
        assert resumed, "no batch was committed before the kills"

        sim.clear_requests()
        proc = _start(sim, tmp_path)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
        # The clean run resumed from the committed cursors (minus the lookback), not from the start.
        first_since: dict[str, str] = {}
        for rec in sim.requests()[1:]:  # [0] is the clock probe
            if rec.path.startswith("/org/"):
                first_since[rec.path] = min(first_since.get(rec.path, "9999"), rec.params["since"])
        for table, cursor in resumed.items():
            path = ENDPOINTS[table].path
            if ENDPOINTS[table].kind == "delta":
                assert first_since[path] == (cursor - timedelta(days=1)).strftime("%Y-%m-%d 00:00:00"), table
        assert any(c > datetime(2025, 12, 2, tzinfo=UTC) for c in resumed.values())
        conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            assert diff_all(sim, conn) == []
        finally:
            conn.close()


def test_batch_extracted_but_not_loaded_is_loaded_first_on_rerun(tmp_path, monkeypatch):
    """A crash between extract and load leaves a pending package (rows + cursors): the rerun loads it."""
    import pipelines.batches as core
    from pipelines.sync import sync

    monkeypatch.setenv("SOURCES__LITMOS__WINDOWS_PER_BATCH", "3")
    real_step = core._step  # each dlt step of a batch: extract, normalize, then (at its turn) load
    calls = {"n": 0}

    def crash_before_second_load(step, *args):
        if getattr(step, "__name__", "") == "load":
            calls["n"] += 1
            if calls["n"] == 2:  # batch 2 is extracted and normalized
                raise RuntimeError("simulated crash before load")
        return real_step(step, *args)

    cfg = SimConfig(seed=12, scale=200, history_days=40, now=datetime(2026, 1, 15, 10, 30, tzinfo=UTC))
    args = dict(credentials=str(tmp_path / "w.duckdb"), state_dir=str(tmp_path / "state"),
                start_date="2025-12-01", requests_per_minute=0)
    with run_simulator(cfg) as sim:
        args.update(api_key=sim.api_key, base_url=sim.base_url)
        monkeypatch.setattr(core, "_step", crash_before_second_load)
        try:
            sync(**args)
        except RuntimeError:
            pass
        monkeypatch.setattr(core, "_step", real_step)
        # Batch 2 (windows 4-6, to Jan 12) is extracted: its cursor is in the local state, rows pending.
        assert read_cursors(str(tmp_path / "state"))["users"] == datetime(2026, 1, 12, tzinfo=UTC)
        sim.clear_requests()
        sync(**args)
        first = min(r.params["since"] for r in sim.requests()[1:] if r.path == "/org/users/details")
        assert first == "2026-01-11 00:00:00"  # resumed after batch 2 (minus the lookback day)
        conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            assert diff_all(sim, conn) == []
        finally:
            conn.close()
