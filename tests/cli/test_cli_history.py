"""The CLI side of the first sync: the resume hint names the exact command, bad dates exit 2 in one
line, and the summary says what the history walk read."""
from __future__ import annotations

import datetime as dt
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from litmos_sim import SimConfig, run_simulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = dt.datetime(2026, 1, 15, 10, 30, tzinfo=dt.timezone.utc)


def _env(sim, tmp_path):
    return dict(os.environ, SOURCES__LITMOS__API_KEY=sim.api_key, SOURCES__LITMOS__BASE_URL=sim.base_url,
                SOURCES__LITMOS__WINDOWS_PER_BATCH="1", SOURCES__LITMOS__MAX_WORKERS="2",
                DESTINATION__DUCKDB__CREDENTIALS=str(tmp_path / "w.duckdb"), PYTHONPATH=ROOT)


def test_the_resume_hint_after_ctrl_c_names_the_exact_command(tmp_path):
    # 16 windows per resource, one per batch, 300 ms a request: the interrupt lands mid-run.
    args = ["run", "--no-dbt", "--quiet", "--start-date", "2025-10-01", "--requests-per-minute", "0",
            "--resources", "users,course_results", "--state-dir", str(tmp_path / "state")]
    with run_simulator(SimConfig(seed=31, scale=200, history_days=120, latency_ms=300, now=NOW)) as sim:
        # A job started in the background by a non-interactive shell (CI) inherits SIGINT ignored, and
        # Python then keeps it ignored: give the child Ctrl-C back, as at a terminal.
        run = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], env=_env(sim, tmp_path), cwd=ROOT,
                               stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        while len(sim.requests()) < 6 and run.poll() is None:
            assert time.monotonic() < deadline, "the run made no request"
            time.sleep(0.02)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=120)
    assert run.returncode == 130
    assert err.decode().splitlines()[-1] == (
        f"litmos-sync: error: interrupted; rerun `litmos-sync {shlex.join(args)}` to resume from the last "
        "committed batch")
    assert sim.api_key not in err.decode()


@pytest.mark.parametrize("option", ["--start-date", "--end-date"])
def test_a_future_date_by_the_servers_clock_exits_2_in_one_line(tmp_path, option):
    extra = ["--start-date", "2025-12-01"] if option == "--end-date" else []
    with run_simulator(SimConfig(seed=32, scale=200, history_days=30, now=NOW)) as sim:
        proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--no-dbt", "--quiet",
                               "--requests-per-minute", "0", "--state-dir", str(tmp_path / "state"), *extra,
                               option, "2026-01-20"], env=_env(sim, tmp_path), cwd=ROOT, capture_output=True,
                              timeout=120)
        paths = [r.path for r in sim.requests()]
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        f"litmos-sync: error: bad {option} 2026-01-20: it is after the server's today (2026-01-15); use a past date"]
    assert paths == ["/org/teams"]  # the clock probe, no data request


def test_history_start_after_start_date_exits_2_before_any_request(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--start-date", "2025-01-01",
                           "--history-start", "2025-02-01"], cwd=ROOT, capture_output=True, timeout=60,
                          env=dict(os.environ, SOURCES__LITMOS__API_KEY="k", PYTHONPATH=ROOT,
                                   SOURCES__LITMOS__BASE_URL="http://127.0.0.1:9/v1.svc"))
    assert proc.returncode == 2
    assert proc.stderr.decode() == ("litmos-sync: error: --history-start 2025-02-01 is after --start-date "
                                    "2025-01-01; the history starts at or before the start date\n")


def test_the_summary_says_what_the_history_walk_read(tmp_path):
    with run_simulator(SimConfig(seed=33, scale=200, history_days=120, now=NOW)) as sim:
        proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--no-dbt", "--requests-per-minute",
                               "0", "--state-dir", str(tmp_path / "state")], env=_env(sim, tmp_path), cwd=ROOT,
                              capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    out = proc.stdout.decode().splitlines()
    assert [line for line in out if line.startswith("history read back to ")] == [
        next(line for line in out if line.startswith("history read back to "))]
    err = proc.stderr.decode()
    assert "first sync: reading the last 56 days first, then the org's history back to its first record" in err
    assert "history: ~" in err and " requests back to " in err
