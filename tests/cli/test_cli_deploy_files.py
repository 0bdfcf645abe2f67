"""The scheduler examples stay valid: each deploy file imports and builds against stand-ins for Airflow and
Dagster (not installed here), the shell parses, the image runs non-root.

The stand-ins record every orchestrator call; the file itself, dlt and OUR code are real, so a renamed
function or a broken import in ``sources`` / ``pipelines`` fails here, also one made lazily inside a task
body (each such ``from ... import`` is resolved and its call bound to the real signature). Running the
files under the real orchestrators is the many-orgs issue's job.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("sources", "pipelines")

STUBS = {
    "stub_log.py": '''
        """What the deploy file asked of the orchestrator, in JSON-friendly terms."""
        CALLS = []

        class Stub:
            """A task, asset or job: its name, and the dependencies drawn with >>."""
            def __init__(self, stub_name):
                self.stub_name = stub_name
            def __rshift__(self, other):
                record("depends", self, other)
                return other

        def record(api, *args, **kwargs):
            CALLS.append({"api": api, "args": [describe(a) for a in args],
                          "kwargs": {k: describe(v) for k, v in kwargs.items()}})

        def describe(value):
            if value is None or isinstance(value, (str, int, float, bool)):
                return value
            if isinstance(value, (list, tuple)):
                return [describe(v) for v in value]
            if isinstance(value, dict):
                return {str(k): describe(v) for k, v in value.items()}
            if isinstance(value, Stub):
                return {"stub": value.stub_name}
            kind = type(value).__name__
            if kind == "DltSource":
                return {"dlt_source": value.name, "resources": sorted(value.resources)}
            if kind == "Pipeline":
                return {"dlt_pipeline": value.pipeline_name, "dataset": value.dataset_name,
                        "destination": value.destination.destination_name}
            if callable(value):
                return {"callable": getattr(value, "__name__", kind)}
            return {"type": kind}
    ''',
    "airflow/__init__.py": "",
    "airflow/decorators.py": '''
        from stub_log import Stub, record

        def dag(**kwargs):
            def decorate(fn):
                def build():
                    record("airflow.dag", dag_id=fn.__name__, **kwargs)
                    fn()  # Airflow runs the body to collect the DAG's tasks
                    return Stub(fn.__name__)
                return build
            return decorate

        def task(fn):
            def call(*args, **kwargs):
                record("airflow.task", task_id=fn.__name__)
                return Stub(fn.__name__)
            return call
    ''',
    "airflow/operators/__init__.py": "",
    "airflow/operators/bash.py": '''
        from stub_log import Stub, record

        class BashOperator(Stub):
            def __init__(self, task_id, **kwargs):
                record("airflow.BashOperator", task_id=task_id, **kwargs)
                super().__init__(task_id)
    ''',
    # dlt is real, but its Airflow helper needs Airflow: it is stood in for like Airflow.
    "dlt_airflow_helper.py": '''
        from stub_log import Stub, record

        class PipelineTasksGroup(Stub):
            def __init__(self, pipeline_name, **kwargs):
                record("dlt.PipelineTasksGroup", pipeline_name, **kwargs)
                super().__init__(pipeline_name)
            def add_run(self, pipeline, data=None, **kwargs):
                record("dlt.PipelineTasksGroup.add_run", pipeline, data, **kwargs)
    ''',
    "dagster/__init__.py": '''
        from stub_log import Stub, record

        class AssetExecutionContext:
            pass

        def asset(**kwargs):
            def decorate(fn):
                record("dagster.asset", fn.__name__, **kwargs)
                return Stub(fn.__name__)
            return decorate

        def define_asset_job(name, **kwargs):
            record("dagster.define_asset_job", name, **kwargs)
            return Stub(name)

        class ScheduleDefinition(Stub):
            def __init__(self, **kwargs):
                record("dagster.ScheduleDefinition", **kwargs)
                super().__init__("schedule")

        class Definitions:
            def __init__(self, **kwargs):
                record("dagster.Definitions", **kwargs)
    ''',
    # The dlt integration under its retired name (dagster-embedded-elt) and its successor's (dagster-dlt).
    "dagster_dlt/__init__.py": '''
        from stub_log import Stub, record

        class DagsterDltResource(Stub):
            def __init__(self):
                record("dagster_dlt.DagsterDltResource")
                super().__init__("dlt")

        def dlt_assets(**kwargs):
            def decorate(fn):
                record("dagster_dlt.dlt_assets", fn.__name__, **kwargs)
                return Stub(kwargs["name"])
            return decorate
    ''',
    "dagster_embedded_elt/__init__.py": "",
    "dagster_embedded_elt/dlt.py": "from dagster_dlt import DagsterDltResource, dlt_assets  # noqa: F401\n",
    "run_deploy_file.py": '''
        """Imports one deploy file with the stand-ins; prints the calls and our lazily imported names."""
        import ast, importlib, importlib.util, inspect, json, runpy, sys

        stubs, root, path = sys.argv[1:4]
        sys.path[:0] = [stubs, root]
        spec = importlib.util.spec_from_file_location("dlt.helpers.airflow_helper",
                                                      stubs + "/dlt_airflow_helper.py")
        helper = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(helper)
        import dlt.helpers
        sys.modules[spec.name] = dlt.helpers.airflow_helper = helper

        runpy.run_path(path, run_name="deploy_file_under_test")

        # Task bodies import our code only when the orchestrator runs them: resolve those imports now and
        # bind each call of an imported name to the real signature.
        ours, problems = [], []
        tree = ast.parse(open(path).read())
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and not any(isinstance(a, ast.Starred) for a in node.args)
                 and all(k.arg is not None for k in node.keywords)]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in sys.argv[4].split(","):
                for alias in node.names:
                    name = f"{node.module}.{alias.name}"
                    ours.append(name)
                    try:
                        target = getattr(importlib.import_module(node.module), alias.name)
                    except (ImportError, AttributeError) as exc:
                        problems.append(f"{name}: {exc!r}")
                        continue
                    for call in calls:
                        if getattr(call.func, "id", None) != (alias.asname or alias.name):
                            continue
                        try:
                            inspect.signature(target).bind(*call.args, **{k.arg: k for k in call.keywords})
                        except TypeError as exc:
                            problems.append(f"{name} called at line {call.lineno}: {exc}")
        import stub_log
        print(json.dumps({"calls": stub_log.CALLS, "ours": sorted(set(ours)), "problems": problems}))
    ''',
}


def _build(deploy_file: str, tmp_path: pathlib.Path) -> dict:
    """Imports ``deploy_file`` in a fresh interpreter against the stand-ins; returns what it built."""
    stubs = tmp_path / "stubs"
    for name, text in STUBS.items():
        target = stubs / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    env = {**os.environ, "HOME": str(tmp_path), "DLT_DATA_DIR": str(tmp_path / "dlt"),
           "LITMOS_STATE_DIR": str(tmp_path / "state"), "SOURCES__LITMOS__API_KEY": "k" * 20,
           "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, str(stubs / "run_deploy_file.py"), str(stubs), str(ROOT),
                           str(ROOT / deploy_file), ",".join(OUR_PACKAGES)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    built = json.loads(done.stdout.strip().splitlines()[-1])
    assert built["problems"] == []
    return built


def _calls(built: dict, api: str) -> list[dict]:
    return [call for call in built["calls"] if call["api"] == api]


def _is_litmos_source(value: dict) -> bool:
    return value["dlt_source"] == "litmos" and {"course_results", "users", "teams"} <= set(value["resources"])


def test_airflow_dags_build_with_our_source_and_cli(tmp_path):
    built = _build("deploy/airflow/litmos_sync_dag.py", tmp_path)
    dags = _calls(built, "airflow.dag")
    assert [d["kwargs"]["dag_id"] for d in dags] == ["litmos_sync_dlt", "litmos_sync_cli"]
    for d in dags:
        assert d["kwargs"]["schedule"] == "15 2 * * *"
        assert d["kwargs"]["catchup"] is False and d["kwargs"]["max_active_runs"] == 1
    (group,) = _calls(built, "dlt.PipelineTasksGroup")
    assert group["args"] == ["litmos"]
    assert group["kwargs"] == {"use_data_folder": False, "wipe_local_data": True}
    (run,) = _calls(built, "dlt.PipelineTasksGroup.add_run")
    pipeline, source = run["args"]
    assert pipeline == {"dlt_pipeline": "litmos", "dataset": "litmos_raw", "destination": "postgres"}
    assert _is_litmos_source(source)
    assert run["kwargs"]["decompose"] == "none"
    assert [c["kwargs"]["task_id"] for c in _calls(built, "airflow.task")] == ["build_marts"]
    assert _calls(built, "depends")[0]["args"] == [{"stub": "litmos"}, {"stub": "build_marts"}]
    (bash,) = _calls(built, "airflow.BashOperator")
    assert bash["kwargs"] == {"task_id": "litmos_sync_run", "append_env": True,
                              "bash_command": "litmos-sync run --destination postgres --log-format json"}
    assert built["ours"] == ["pipelines.dbt_runner.build_marts", "sources.litmos.litmos_source"]


def test_dagster_definitions_build_with_our_source(tmp_path):
    built = _build("deploy/dagster/litmos_definitions.py", tmp_path)
    (assets,) = _calls(built, "dagster_dlt.dlt_assets")
    assert assets["args"] == ["litmos_raw_assets"]
    assert _is_litmos_source(assets["kwargs"]["dlt_source"])
    assert assets["kwargs"]["dlt_pipeline"] == {"dlt_pipeline": "litmos", "dataset": "litmos_raw",
                                                "destination": "duckdb"}
    assert assets["kwargs"]["name"] == "litmos" and assets["kwargs"]["group_name"] == "litmos_raw"
    assert [c["args"] for c in _calls(built, "dagster.asset")] == [["litmos_marts"], ["litmos_nightly_cli"]]
    (job,) = _calls(built, "dagster.define_asset_job")
    assert job["args"] == ["litmos_nightly"]
    assert job["kwargs"]["selection"] == [{"stub": "litmos"}, {"stub": "litmos_marts"}]
    (schedule,) = _calls(built, "dagster.ScheduleDefinition")
    assert schedule["kwargs"] == {"job": {"stub": "litmos_nightly"}, "cron_schedule": "15 2 * * *",
                                  "execution_timezone": "UTC"}
    (defs,) = _calls(built, "dagster.Definitions")
    expected = [{"stub": name} for name in ("litmos", "litmos_marts", "litmos_nightly_cli")]
    assert defs["kwargs"]["assets"] == expected
    assert defs["kwargs"]["resources"] == {"dlt": {"stub": "dlt"}}
    assert defs["kwargs"]["jobs"] == [{"stub": "litmos_nightly"}]
    assert defs["kwargs"]["schedules"] == [{"stub": "schedule"}]
    assert built["ours"] == ["pipelines.config.resolve_credentials", "pipelines.dbt_runner.build_marts",
                             "pipelines.runner.run_sync", "sources.litmos.litmos_source"]


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
