"""What an operator sees from a default `litmos-sync run`, and the documented commands, run as printed.

- `run` (all resources, dbt included) prints under 40 lines, no colour codes off a terminal, one dbt
  summary line (the full dbt log stays in dbt_models/logs/dbt.log), nothing after "finished".
- dbt_models/README.md's DuckDB command runs as printed (only the file path swapped for the test's).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines import cli
from pipelines.dbt_runner import DBT_PROJECT_DIR

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-docs-commands-0123456789"
NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.timezone.utc)
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def _readme_command(prefix: str) -> str:
    lines = [line for line in (ROOT / "dbt_models" / "README.md").read_text().splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"dbt_models/README.md has no single line starting with {prefix!r}"
    return lines[0]


@pytest.mark.slow
def test_default_run_prints_a_short_plain_summary_and_the_dbt_readme_command_works(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "litmos.duckdb"
    monkeypatch.setenv("SOURCES__LITMOS__API_KEY", SECRET)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(db))
    log_file = DBT_PROJECT_DIR / "logs" / "dbt.log"
    log_before = log_file.stat().st_size if log_file.exists() else 0
    with run_simulator(SimConfig(seed=7, scale=200, history_days=20, now=NOW, api_key=SECRET)) as sim:
        monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", sim.base_url)
        code = cli.main(["run", "--start-date", "2026-02-17", "--requests-per-minute", "0"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines() + err.splitlines()
    assert len(lines) < 40, "\n".join(lines)
    assert "\x1b" not in out + err
    assert SECRET not in out + err
    # dbt: one summary line on stderr, none of dbt's own log on stdout.
    (dbt_line,) = [line for line in err.splitlines() if " dbt build:" in line]
    models = len(list((ROOT / "dbt_models" / "models").rglob("*.sql")))  # every model of the project ran
    assert re.fullmatch(rf"{TS} INFO dbt build: {models} models, \d+ tests: \d+ passed, 0 warned, 0 failed, 0 skipped "
                        r"in \d+\.\ds \(full log: dbt_models/logs/dbt\.log\)", dbt_line), dbt_line
    assert "PASS=" not in out and "Running with dbt" not in out
    # The full log is in the file, without colour codes.
    with open(log_file, "rb") as handle:
        handle.seek(log_before if log_file.stat().st_size >= log_before else 0)  # dbt rotates it at 10 MB
        appended = handle.read().decode("utf-8", "replace")
    assert "Done. PASS=" in appended and "\x1b[" not in appended
    # Progress: totals, the end of the load before dbt, nothing after "finished"; no "0/?" leftovers.
    assert re.fullmatch(rf"{TS} INFO run [0-9a-f]{{16}} finished: \d+ records read \(re-reads included; the merge "
                        r"keeps one row per key\), \d+ requests", err.splitlines()[-1])
    assert re.search(rf"^{TS} INFO extract and load done in \d+s$", err, re.M)
    assert "0/?" not in out + err
    # The summary says what its figures are.
    assert "span s: wall time from a resource's first to its last request" in out
    assert re.search(r"^module_details +- +\d+", out, re.M)
    assert re.search(r"^total: \d+ rows, \d+ requests, \d+ retries in \d+\.\ds wall; \d+\.\ds waiting for the rate "
                     r"budget \(summed over parallel requests\); dbt: success$", out, re.M)

    # dbt_models/README.md, as printed, against this warehouse. Own target/log dirs (DBT_TARGET_PATH,
    # DBT_LOG_PATH) so parallel test workers' dbt runs in dbt_models/target are left alone.
    command = _readme_command("LITMOS_DUCKDB_PATH=litmos.duckdb .venv/bin/dbt build ")
    command = command.replace("LITMOS_DUCKDB_PATH=litmos.duckdb", f"LITMOS_DUCKDB_PATH={shlex.quote(str(db))}")
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "dbt_target"), "DBT_LOG_PATH": str(tmp_path / "dbt_logs")}
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Completed successfully" in proc.stdout


def test_dbt_readme_commands_use_the_venv_dbt():
    text = (ROOT / "dbt_models" / "README.md").read_text()
    assert not re.search(r"(^|\s)dbt build --project-dir", text, re.M), "bare `dbt build`: use .venv/bin/dbt"
    assert _readme_command("LITMOS_PG_HOST=127.0.0.1 LITMOS_PG_DBNAME=litmos .venv/bin/dbt build ")
