"""`litmos-sim serve --orgs N` and `--orgs-file FILE`: start-up lines, serving, and one-line errors."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from litmos_sim import SimConfig, Simulator
from litmos_sim.cli import main
from litmos_sim.orgs_file import load_orgs_file

from .test_cli_control import ROOT, _serve

WINDOW = {"source": "cli", "since": "2026-01-01 00:00:00", "to": "2026-01-08 00:00:00"}
ORG_LINE = re.compile(r"^(\S+) (\S+) seed=(\d+) scale=(\d+) history_days=(\d+) rate_limit=(\d+) now=\S+$")


def _stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return out, err


def test_serve_orgs_prints_url_then_one_line_per_org_and_routes_by_key():
    proc = _serve("--orgs", "3", "--port", "0", "--seed", "4", "--scale", "25", "--history-days", "20",
                  "--rate-limit", "7")
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1.svc")
        lines = [ORG_LINE.match(proc.stdout.readline().strip()) for _ in range(3)]
        assert all(lines), lines
        assert [m.groups()[:6] for m in lines] == [
            (f"org0{i}", f"litmos-sim-key-org0{i}", str(3 + i), "25", "20", "7") for i in (1, 2, 3)]
        summary = proc.stdout.readline()
        assert summary.startswith("fleet: 3 orgs built in ")
        root = url[:-len("/v1.svc")]
        listing = requests.get(root + "/_sim/orgs", timeout=10).json()
        assert [(o["name"], o["api_key"], o["seed"], o["rate_limit"]) for o in listing] == [
            (f"org0{i}", f"litmos-sim-key-org0{i}", 3 + i, 7) for i in (1, 2, 3)]
        for i in (1, 2, 3):
            truth = requests.get(f"{root}/_sim/orgs/org0{i}/ground_truth", params={"endpoint": "/org/teams"},
                                 timeout=10).json()["records"]
            expected = Simulator(SimConfig(seed=3 + i, scale=25, history_days=20)).ground_truth("/org/teams")
            assert [t["Id"] for t in truth] == [t["Id"] for t in expected]
            r = requests.get(url + "/org/teams", params=WINDOW, headers={"apikey": f"litmos-sim-key-org0{i}"},
                             timeout=10)
            assert r.status_code == 200 and r.text.startswith("<Teams")
        wrong = requests.get(url + "/org/teams", params=WINDOW, headers={"apikey": "nope"}, timeout=10)
        assert wrong.status_code == 403
    finally:
        out, err = _stop(proc)
    assert err == ""


def test_serve_orgs_file(tmp_path):
    path = tmp_path / "orgs.toml"
    path.write_text('[defaults]\nscale = 12\n\n'
                    '[[orgs]]\nname = "acme"\napi_key = "acme-key"\nseed = 11\nhistory_days = 30\n\n'
                    '[[orgs]]\nname = "beta"\nrate_limit = 0\nnow = 2026-01-15T10:30:00Z\n', encoding="utf-8")
    proc = _serve("--orgs-file", str(path), "--port", "0", "--seed", "5")
    try:
        url = proc.stdout.readline().strip()
        acme, beta = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        assert ORG_LINE.match(acme).groups()[:6] == ("acme", "acme-key", "11", "12", "30", "100")
        assert beta == ("beta litmos-sim-key-beta seed=6 scale=12 history_days=60 rate_limit=0 "
                        "now=2026-01-15T10:30:00+00:00")
        r = requests.get(url + "/org/teams", params=WINDOW, headers={"apikey": "litmos-sim-key-beta"}, timeout=10)
        assert r.headers["Date"] == "Thu, 15 Jan 2026 10:30:00 GMT"
    finally:
        _stop(proc)


def test_bad_orgs_file_exits_2_with_one_line(tmp_path):
    path = tmp_path / "orgs.toml"
    path.write_text('[[orgs]]\nname = "acme"\nscale = "big"\n', encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "litmos_sim.cli", "serve", "--orgs-file", str(path), "--port", "0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == f"litmos-sim: error: orgs file {path}: org 'acme': scale must be an integer, got 'big'\n"


NO_ORGS = 'has no [[orgs]] tables; add one [[orgs]] table per org, each with at least name = "..."'
ALLOWED = ("name, seed, scale, api_key, history_days, now, rate_limit, rate_limit_status, latency_ms, "
           "latency_jitter_ms, fail_rate, truncate_rate, drop_rate, day_granular_to, oversize_pages, empty_final_page")


@pytest.mark.parametrize("text, message", [
    ('[[orgs]\nname = "a"\n',
     "is not valid TOML: Expected ']]' at the end of an array declaration (at line 1, column 7)"),
    ('', NO_ORGS),
    ('[orgs]\nname = "a"\n', NO_ORGS),
    ('title = "x"\n', ": unknown top-level key 'title'; the file holds an optional [defaults] table and one "
                      "[[orgs]] table per org"),
    ('[[orgs]]\nseed = 1\n', ": org #1 has no name; add name = \"...\" to its [[orgs]] table"),
    ('[[orgs]]\nname = "a"\ncolour = 1\n', f": org 'a': unknown field 'colour'; allowed: {ALLOWED}"),
    ('[defaults]\napi_key = "k"\n[[orgs]]\nname = "a"\n',
     ": [defaults]: unknown field 'api_key'; allowed: " + ALLOWED.replace("name, ", "").replace("api_key, ", "")),
    ('[[orgs]]\nname = "a"\nscale = 0\n', ": org 'a': scale must be an integer >= 1 (number of users), got 0"),
    ('[[orgs]]\nname = "a"\nscale = true\n', ": org 'a': scale must be an integer, got True"),
    ('[[orgs]]\nname = "a"\nfail_rate = 2\n', ": org 'a': fail_rate must be between 0.0 and 1.0, got 2.0"),
    ('[[orgs]]\nname = "a"\noversize_pages = 1\n', ": org 'a': oversize_pages must be true or false, got 1"),
    ('[[orgs]]\nname = "a"\nnow = 2026-01-15\n',
     ": org 'a': now must be a TOML date-time such as 2026-01-15T10:30:00Z, got datetime.date(2026, 1, 15)"),
    ('[[orgs]]\nname = "a"\n[[orgs]]\nname = "a"\n', ": org name 'a' is used twice; give every org its own name"),
    ('[[orgs]]\nname = "a b"\n', ": org name 'a b' is invalid; use 1-40 letters, digits, '_' or '-' (starting with "
                                 "a letter or digit)"),
    ('[[orgs]]\nname = "a"\napi_key = "k"\n[[orgs]]\nname = "b"\napi_key = "k"\n',
     ": orgs 'a' and 'b' have the same api_key; give every org its own key"),
])
def test_orgs_file_errors_are_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "orgs.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["serve", "--orgs-file", str(path), "--port", "0"]) == 2
    captured = capsys.readouterr()
    sep = "" if message.startswith(":") else " "
    assert captured.out == ""
    assert captured.err == f"litmos-sim: error: orgs file {path}{sep}{message}\n"


@pytest.mark.parametrize("args, message", [
    (["--orgs", "0"], "--orgs must be an integer >= 1 (the number of orgs), got 0"),
    (["--orgs", "2", "--orgs-file", "x.toml"], "--orgs and --orgs-file exclude each other; use one"),
    (["--orgs", "2", "--api-key", "k"], "--api-key is for a single org; with --orgs each org's key is "
                                        "litmos-sim-key-<name> (set api_key per org in an --orgs-file)"),
    (["--orgs", "2", "--scale", "0"], "scale must be an integer >= 1 (number of users), got 0"),
    (["--orgs-file", "/nonexistent/orgs.toml"], "cannot read orgs file /nonexistent/orgs.toml (No such file or "
                                                "directory); pass an existing TOML file to --orgs-file"),
])
def test_bad_fleet_flags_are_one_line(capsys, args, message):
    assert main(["serve", "--port", "0", *args]) == 2
    assert capsys.readouterr().err == f"litmos-sim: error: {message}\n"


def test_orgs_file_fields_fall_back_to_the_flags(tmp_path):
    path = Path(tmp_path / "orgs.toml")
    path.write_text('[[orgs]]\nname = "x"\n[[orgs]]\nname = "y"\nseed = 1\nlatency_ms = 5\n', encoding="utf-8")
    base = SimConfig(seed=40, scale=9, history_days=3, rate_limit=100, drop_rate=0.5)
    names, configs = load_orgs_file(path, base)
    assert names == ["x", "y"]
    assert configs == [base.replace(api_key="litmos-sim-key-x"),
                       base.replace(seed=1, api_key="litmos-sim-key-y", latency_ms=5)]
