"""`litmos-sync run` and `status` end to end against the simulator, on DuckDB and Postgres."""
from __future__ import annotations

import datetime as dt
import json
import pathlib
import shlex

import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines import cli, run_history
from pipelines.warehouse import open_warehouse
from sources.litmos.settings import ENDPOINTS

SECRET = "sk-e2e-secret-0123456789"
NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.timezone.utc)
START = "2026-02-17"  # a day before the simulated history begins
RESOURCES = ["users", "course_results", "teams"]


@pytest.fixture
def sim():
    with run_simulator(SimConfig(seed=7, scale=200, history_days=20, now=NOW, api_key=SECRET)) as s:
        yield s


@pytest.fixture
def env(sim, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCES__LITMOS__API_KEY", SECRET)
    monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", sim.base_url)
    monkeypatch.setenv("SOURCES__LITMOS__SOURCE", "cli-e2e")
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    return tmp_path


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _sim_requests_per_path(sim) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in sim.requests():
        counts[r.path] = counts.get(r.path, 0) + 1
    return counts


def _no_secret_anywhere(root: pathlib.Path, *texts: str) -> None:
    for text in texts:
        assert SECRET not in text
    for path in root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"API key found in {path}"


def test_run_then_status_duckdb(sim, env, capsys):
    argv = ["run", "--no-dbt", "--resources", ",".join(RESOURCES), "--start-date", START,
            "--requests-per-minute", "0", "--state-dir", str(env / "st")]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    per_path = _sim_requests_per_path(sim)
    truth = {t: len(sim.ground_truth(ENDPOINTS[t].path)) for t in RESOURCES}

    with open_warehouse("duckdb", str(env / "w.duckdb")) as wh:
        rows = run_history.history(wh, "litmos_raw")
        counts = {t: wh.query(f"SELECT count(*) AS n FROM litmos_raw.{t}")[0]["n"] for t in RESOURCES}
    assert counts == truth
    assert sorted(r["resource"] for r in rows) == sorted(RESOURCES)
    assert len({r["run_id"] for r in rows}) == 1
    for r in rows:
        path = ENDPOINTS[r["resource"]].path
        assert (r["status"], r["error"], r["dbt_status"], r["destination"]) == ("success", None, "skipped", "duckdb")
        # The simulator's own request log agrees (the server-clock probe is one extra /org/teams call).
        assert r["requests"] == per_path[path] - (path == "/org/teams")
        assert r["windows_done"] == r["windows_total"] == 4  # 02-17 .. 03-11 (tomorrow): 7+7+7+1 days
        assert r["pages"] == r["requests"] - (r["retries"] or 0)
        assert r["rows_loaded"] >= truth[r["resource"]]  # records read; the merge de-duplicates them
        assert r["start_date"] == dt.date(2026, 2, 17) and r["end_date"] is None
        assert r["cursor_before"] is None and r["cursor_after"] <= NOW
    # Summary on stdout, one line per resource plus header and totals.
    lines = out.splitlines()
    assert lines[0].startswith("run ") and lines[0].endswith(f"duckdb {env / 'w.duckdb'} dataset litmos_raw")
    assert [line.split()[0] for line in lines[2:5]] == sorted(RESOURCES)
    # the total line; notes of the run (e.g. what a partial --start-date leaves out) may follow it
    (total,) = [line for line in lines if line.startswith("total: ")]
    assert total.startswith(f"total: {sum(r['rows_loaded'] for r in rows)} rows, ")
    assert all(line.startswith("partial history: ") for line in lines[lines.index(total) + 1:])

    code, out, err = _run(["status", "--state-dir", str(env / "st")], capsys)
    assert code == 0 and err == ""
    status = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(status) == set(RESOURCES)
    cursor = {r["resource"]: r["cursor_after"] for r in rows}
    for table in RESOURCES:
        fields = status[table]
        assert fields[1:3] == cursor[table].strftime("%Y-%m-%d %H:%M:%S").split()
        assert fields[5] == "success"
        assert fields[-1] == f"{truth[table]:,}"

    code, out, err = _run(["status", "--state-dir", str(env / "st"), "--format", "json"], capsys)
    doc = {r["resource"]: r for r in json.loads(out)}
    assert doc["users"]["rows_in_table"] == truth["users"] and doc["users"]["last_status"] == "success"

    # A second run right away re-reads only the lookback and adds nothing.
    sim.clear_requests()
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    with open_warehouse("duckdb", str(env / "w.duckdb")) as wh:
        assert {t: wh.query(f"SELECT count(*) AS n FROM litmos_raw.{t}")[0]["n"] for t in RESOURCES} == truth
        latest = run_history.latest_per_resource(wh, "litmos_raw")
        assert len({r["run_id"] for r in run_history.history(wh, "litmos_raw")}) == 2
    assert all(latest[t]["cursor_before"] == cursor[t] for t in RESOURCES)
    _no_secret_anywhere(env, out, err)


def test_wrong_key_fails_with_one_line_and_a_history_row(sim, env, capsys, monkeypatch):
    wrong = "sk-wrong-key-987654321"
    monkeypatch.setenv("SOURCES__LITMOS__API_KEY", wrong)
    code, out, err = _run(["run", "--no-dbt", "--resources", "teams", "--start-date", START,
                           "--requests-per-minute", "0", "--quiet"], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("litmos-sync: error: ")
    assert wrong not in err and SECRET not in err
    with open_warehouse("duckdb", str(env / "w.duckdb")) as wh:
        (row,) = run_history.history(wh, "litmos_raw")
    assert (row["resource"], row["status"], row["dbt_status"]) == ("teams", "failed", "skipped")
    assert err == f"litmos-sync: error: {row['error']}\n"
    assert "SOURCES__LITMOS__API_KEY" in row["error"]  # says how to fix it


def test_json_log_format_is_json_lines_only(sim, env, capsys):
    code, out, err = _run(["run", "--no-dbt", "--resources", "teams", "--start-date", START,
                           "--requests-per-minute", "0", "--log-format", "json"], capsys)
    assert code == 0 and out == ""
    docs = [json.loads(line) for line in err.splitlines()]
    events = [d.get("event") for d in docs]
    assert events.count("WindowDone") == 4
    assert docs[-1]["msg"] == "run finished" and docs[-1]["rows"] == docs[-1]["rows"] >= 1
    assert all(SECRET not in line for line in err.splitlines())


@pytest.mark.postgres
def test_run_postgres_records_history(sim, env, capsys, monkeypatch, pg_database):
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", pg_database)
    code, out, err = _run(["run", "--no-dbt", "--destination", "postgres", "--dataset", "lms_raw",
                           "--resources", "teams,users", "--start-date", START, "--requests-per-minute", "0",
                           "--quiet"], capsys)
    assert (code, out, err) == (0, "", ""), err
    with open_warehouse("postgres", pg_database) as wh:
        latest = run_history.latest_per_resource(wh, "lms_raw")
        counts = {t: wh.query(f"SELECT count(*) AS n FROM lms_raw.{t}")[0]["n"] for t in ("teams", "users")}
    assert counts == {t: len(sim.ground_truth(ENDPOINTS[t].path)) for t in ("teams", "users")}
    assert {t: (r["status"], r["rows_total"] >= counts[t]) for t, r in latest.items()} == {
        "teams": ("success", True), "users": ("success", True)}
    code, out, err = _run(["status", "--destination", "postgres", "--dataset", "lms_raw"], capsys)
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["users", "teams"]


def test_sigterm_is_recorded_and_the_rerun_resumes(env, capsys):
    """docker stop / a scheduler's kill: exit 130, one line, a history row; the rerun completes exactly."""
    import os
    import signal
    import subprocess
    import sys

    with run_simulator(SimConfig(seed=7, scale=200, history_days=20, now=NOW, api_key=SECRET,
                                 latency_ms=150)) as slow:
        cmd = [sys.executable, "-m", "pipelines.cli", "run", "--no-dbt", "--resources", "users,teams",
               "--start-date", START, "--requests-per-minute", "0", "--log-format", "json"]
        child_env = dict(os.environ, SOURCES__LITMOS__BASE_URL=slow.base_url)
        proc = subprocess.Popen(cmd, env=child_env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                cwd=str(env))
        lines = []
        for line in proc.stderr:  # wait until real work is under way
            lines.append(line)
            if '"WindowDone"' in line:
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)[::-1]
        assert proc.returncode == 130, rest
        # The hint names this exact command (pipelines.cli._command_line).
        hint = f"interrupted; rerun `{shlex.join(['litmos-sync', *cmd[3:]])}` to resume from the last committed batch"
        assert rest.splitlines()[-1] == f"litmos-sync: error: {hint}"
        with open_warehouse("duckdb", str(env / "w.duckdb")) as wh:
            rows = run_history.history(wh, "litmos_raw")
        assert rows and {r["error"] for r in rows if r["status"] == "failed"} == {hint}

        code, out, err = _run(["run", "--no-dbt", "--resources", "users,teams", "--start-date", START,
                               "--requests-per-minute", "0", "--quiet"], capsys)
        assert (code, err) == (0, "")
        with open_warehouse("duckdb", str(env / "w.duckdb")) as wh:
            counts = {t: wh.query(f"SELECT count(*) AS n FROM litmos_raw.{t}")[0]["n"] for t in ("users", "teams")}
        assert counts == {t: len(slow.ground_truth(ENDPOINTS[t].path)) for t in ("users", "teams")}


def test_lookback_days_sets_where_the_next_run_starts(sim, env, capsys):
    """--lookback-days N: the next run starts at the midnight N days before each cursor (default 1)."""
    base = ["run", "--no-dbt", "--resources", "teams", "--start-date", START, "--requests-per-minute", "0",
            "--state-dir", str(env / "st"), "--quiet"]
    assert _run(base, capsys)[0] == 0
    starts = {}
    for lookback in ("0", "3", None):
        sim.clear_requests()
        assert _run(base + (["--lookback-days", lookback] if lookback else []), capsys)[0] == 0
        starts[lookback] = sorted({r.params["since"] for r in sim.requests() if r.path == "/org/teams"})[0]
    # the cursor is the server's now, 2026-03-10 15:30 (the probe's one-day window starts at the local date)
    assert starts == {"0": "2026-03-10 00:00:00", "3": "2026-03-07 00:00:00", None: "2026-03-09 00:00:00"}
