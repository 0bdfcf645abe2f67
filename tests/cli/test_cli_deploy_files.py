"""The scheduler examples stay valid: Python compiles, shell parses, the image runs non-root."""
from __future__ import annotations

import pathlib
import py_compile
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_scheduler_examples_compile(tmp_path):
    for path in ("deploy/airflow/litmos_sync_dag.py", "deploy/dagster/litmos_definitions.py"):
        py_compile.compile(str(ROOT / path), cfile=str(tmp_path / "x.pyc"), doraise=True)
    subprocess.run(["bash", "-n", str(ROOT / "deploy/cron/nightly.sh")], check=True)
    cron = (ROOT / "deploy/cron/litmos-sync.cron").read_text()
    jobs = [line for line in cron.splitlines() if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert jobs == ["15 2 * * * litmos /opt/litmos-sync/deploy/cron/nightly.sh --quiet"]


def test_dockerfile_is_small_non_root_and_runs_the_sync():
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "\nFROM python:3.11-slim\n" in text
    assert re.search(r"^USER litmos$", text, re.M)
    assert '\nENTRYPOINT ["litmos-sync", "run"]\n' in text
    assert "API_KEY=" not in text  # secrets come from the environment at run time
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "*.duckdb", "state/", ".dlt/secrets.toml", ".git"} <= set(ignored)
