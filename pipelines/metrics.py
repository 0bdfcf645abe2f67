"""Runs MetricFlow's ``mf`` CLI (dbt-metricflow) against the warehouse the pipeline loaded.

``mf`` has no ``--target`` or ``--vars``: ``run_mf`` parses the project with the build's vars and tenants,
copies the semantic manifest into a private project directory (links to the project's files) and runs ``mf``
there with the profile's target and credentials in the environment (dbt_models/README.md, "Metrics for BI tools").
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.dbt_runner import DBT_PROJECT_DIR, DbtRunError, _project_lock, build_marts, profile_env, target_dir
from sources.litmos.exceptions import redact

_PROJECT_FILES = ("dbt_project.yml", "models", "macros", "tests")


def mf_executable() -> str:
    """The ``mf`` next to this interpreter (the project's .venv), else the one on PATH."""
    local = Path(sys.executable).parent / "mf"
    found = str(local) if local.exists() else shutil.which("mf")
    if not found:
        raise DbtRunError("MetricFlow's mf command is not installed: run scripts/bootstrap.sh (dbt-metricflow)")
    return found


def run_mf(
    args: Sequence[str],
    destination: str,
    credentials: Any,
    raw_schema: str = "litmos_raw",
    vars: Mapping[str, Any] | None = None,  # noqa: A002 - as build_marts
    *,
    tenants: Sequence[tuple[str, str]] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Runs ``mf <args>`` against the warehouse ``build_marts`` built with the same arguments.

    Returns the completed process (the password redacted; the caller checks ``returncode``); raises
    DbtRunError when the project does not parse.
    """
    env = {**os.environ, **profile_env(destination, credentials), "LITMOS_DBT_TARGET": destination,
           "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    secret = env.get("LITMOS_PG_PASSWORD", "")
    with tempfile.TemporaryDirectory(prefix="litmos-mf-") as workdir:
        project = Path(workdir)
        for name in _PROJECT_FILES:
            (project / name).symlink_to(DBT_PROJECT_DIR / name)
        (project / "target").mkdir()
        with _project_lock():  # held from the parse to the copy: no concurrent dbt run rewrites the manifest
            build_marts(destination, credentials, raw_schema, vars, command="parse", tenants=tenants, quiet=True)
            shutil.copyfile(target_dir(destination) / "semantic_manifest.json",
                            project / "target" / "semantic_manifest.json")
        env["DBT_PROJECT_DIR"] = str(project)
        env["DBT_TARGET_PATH"] = str(project / "target")  # mf reads the copy, not a worker's own target dir
        done = subprocess.run([mf_executable(), *args], cwd=project, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, redact(done.stdout, secret),
                                       redact(done.stderr, secret))
