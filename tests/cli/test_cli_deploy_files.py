"""The deploy files stay valid without their orchestrators: our names they import resolve and bind, the
retired and deprecated orchestrator APIs stay out, the shell parses, the image runs non-root.

The Dagster code location and the Airflow DAG are executed for real by tests/deploy (each orchestrator
from its own venv); this file checks, in the core venv, what those runs would only find at run time: an
import of ``sources`` / ``pipelines`` made lazily inside a task body, renamed or called with arguments
its real signature refuses.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("sources", "pipelines")
DEPLOY_PY = ["deploy/dagster/definitions.py", "deploy/airflow/litmos_sync_dag.py", "deploy/litmos_tenants.py"]


def _our_imports(path: pathlib.Path) -> tuple[list[str], list[str]]:
    """Our names imported anywhere in the file (task bodies included), and the problems binding them."""
    tree = ast.parse(path.read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and not any(isinstance(a, ast.Starred) for a in node.args)
             and all(k.arg is not None for k in node.keywords)]
    ours, problems = [], []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OUR_PACKAGES):
            continue
        for alias in node.names:
            name = f"{node.module}.{alias.name}"
            ours.append(name)
            try:
                module = importlib.import_module(node.module)
                target = getattr(module, alias.name, None) or importlib.import_module(name)  # a submodule
            except ImportError as exc:
                problems.append(f"{name}: {exc!r}")
                continue
            for call in calls:
                if getattr(call.func, "id", None) != (alias.asname or alias.name) or not callable(target):
                    continue
                try:
                    inspect.signature(target).bind(*call.args, **{k.arg: k for k in call.keywords})
                except TypeError as exc:
                    problems.append(f"{name} called at line {call.lineno}: {exc}")
    return sorted(set(ours)), problems


@pytest.mark.parametrize("deploy_file", DEPLOY_PY)
def test_deploy_files_import_our_code_by_its_real_names(deploy_file):
    ours, problems = _our_imports(ROOT / deploy_file)
    assert problems == []
    expected = {
        "deploy/dagster/definitions.py": ["pipelines.config", "pipelines.config.schema_prefix", "pipelines.run_history", "pipelines.warehouse.open_warehouse",
                                          "sources.litmos.litmos_source"],
        "deploy/airflow/litmos_sync_dag.py": ["pipelines.runner.RunFailed"],
        "deploy/litmos_tenants.py": ["pipelines.config", "pipelines.dbt_runner.build_marts", "pipelines.fleet.tenant_options",
                                     "pipelines.runner.run_sync", "pipelines.tenants"],
    }[deploy_file]
    assert ours == expected


def test_orchestrator_files_use_current_apis():
    dagster = (ROOT / "deploy/dagster/definitions.py").read_text()
    assert "dagster_embedded_elt" not in dagster  # retired; its successor is dagster-dlt
    assert "from dagster_dlt import" in dagster and "from dagster_dbt import" in dagster
    airflow = (ROOT / "deploy/airflow/litmos_sync_dag.py").read_text()
    # Airflow 3: the Task SDK, not the deprecated airflow.decorators / airflow.operators.* paths.
    assert "from airflow.sdk import" in airflow
    assert not re.search(r"^\s*(from|import) airflow\.(decorators|operators)", airflow, re.M)
    assert ".expand(tenant=" in airflow


def test_cron_job_and_script_parse():
    subprocess.run(["bash", "-n", str(ROOT / "deploy/cron/nightly.sh")], check=True)
    cron = (ROOT / "deploy/cron/litmos-sync.cron").read_text()
    jobs = [line for line in cron.splitlines()
            if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert jobs == ["15 2 * * * litmos /opt/litmos-sync/deploy/cron/nightly.sh --quiet"]


def test_dockerfile_is_small_non_root_and_runs_the_sync():
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "\nFROM python:3.11-slim\n" in text
    assert re.search(r"^USER litmos$", text, re.M)
    assert '\nENTRYPOINT ["litmos-sync", "run"]\n' in text
    assert "API_KEY=" not in text  # secrets come from the environment at run time
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "*.duckdb", "state/", ".dlt/secrets.toml", ".git"} <= set(ignored)
