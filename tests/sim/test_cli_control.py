"""The `litmos-sim serve` command line and the /_sim/ control endpoints."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from .conftest import get

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / "bin" / "litmos-sim"


def _serve(*args: str) -> subprocess.Popen:
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "litmos_sim.cli"]
    return subprocess.Popen(cmd + ["serve", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_serve_prints_base_url_first_and_serves():
    proc = _serve("--port", "0", "--seed", "3", "--scale", "30", "--api-key", "cli-key", "--rate-limit", "0")
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("http://127.0.0.1:") and first.endswith("/v1.svc")
        port = int(first.split(":")[2].split("/")[0])
        assert port > 0
        r = requests.get(first + "/org/teams", params={"source": "cli", "since": "2026-01-01 00:00:00",
                                                        "to": "2026-01-02 00:00:00"},
                         headers={"apikey": "cli-key"}, timeout=10)
        assert r.status_code == 200 and r.text.startswith("<Teams")
        assert requests.get(first.replace("/v1.svc", "/_sim/health"), timeout=10).json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "cli-key" not in out + err


def test_serve_default_key_is_printed_and_bad_flags_fail_in_one_line():
    proc = _serve("--port", "0", "--scale", "10")
    try:
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
        assert proc.stdout.readline().strip() == "api key: litmos-sim-key (default; pass --api-key to choose one)"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    bad = subprocess.run([sys.executable, "-m", "litmos_sim.cli", "serve", "--scale", "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "litmos-sim: error: scale must be an integer >= 1 (number of users), got 0"


def test_control_endpoints(sim):
    root = sim.root_url + "/_sim"
    assert requests.get(root + "/health", timeout=10).json() == {"status": "ok", "now": "2026-01-15T10:30:00+00:00"}
    get(sim, "/org/teams", since="2026-01-08 00:00:00", to="2026-01-15 00:00:00")
    log = requests.get(root + "/requests", timeout=10).json()
    assert [(x["path"], x["status"]) for x in log] == [("/org/teams", 200)]
    assert requests.get(root + "/stats", timeout=10).json()["requests"] == 1
    truth = requests.get(root + "/ground_truth", params={"endpoint": "/org/teams"}, timeout=10).json()
    assert truth["key"] == ["Id"] and len(truth["records"]) == len(sim.ground_truth("/org/teams"))
    adv = requests.post(root + "/clock", json={"advance_seconds": 3600}, timeout=30).json()
    assert adv["now"] == "2026-01-15T11:30:00+00:00" and "login" in adv["events"]
    frozen = requests.post(root + "/clock", json={"freeze": "2026-02-01T00:00:00Z"}, timeout=10).json()
    assert frozen == {"now": "2026-02-01T00:00:00+00:00", "frozen": True}
    assert requests.post(root + "/faults", json={"fail_rate": 1.0}, timeout=10).json() == {"status": "ok"}
    assert get(sim, "/org/teams", since="2026-01-08 00:00:00", to="2026-01-15 00:00:00").status_code >= 500
    bad = requests.post(root + "/faults", json={"seed": 1}, timeout=10)
    assert bad.status_code == 400 and "allowed" in bad.json()["error"]
    assert requests.delete(root + "/requests", timeout=10).json() == {"status": "cleared"}
    assert sim.requests() == []
    reset = requests.post(root + "/reset", json={"seed": 9}, timeout=30).json()
    assert reset["seed"] == 9 and sim.config.seed == 9
    assert requests.get(root + "/nope", timeout=10).status_code == 404
    assert requests.get(root + "/ground_truth", timeout=10).status_code == 400
    assert sim.requests() == []  # control calls are not logged


def test_run_simulator_context_manager_and_class():
    from litmos_sim import SimConfig, Simulator, run_simulator

    with run_simulator(SimConfig(scale=20, api_key="k2")) as sim:
        url = sim.base_url
        assert requests.get(url + "/collections", params={"source": "s"}, headers={"apikey": "k2"},
                            timeout=10).status_code == 200
    try:
        requests.get(url + "/collections", timeout=2)
        raise AssertionError("server still up after the with block")
    except requests.ConnectionError:
        pass
    with Simulator(scale=20, seed=4) as sim2:
        assert sim2.config.seed == 4 and sim2.api_key == "litmos-sim-key"
        assert sim2.base_url.endswith("/v1.svc")
    if os.name == "posix":
        assert Simulator(scale=5).ground_truth("/org/users/details")
