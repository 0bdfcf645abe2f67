"""Airflow 3 DAG `litmos_sync`: every tenant (Litmos org) synced by its own mapped task, then the dbt marts.

Install: `pip install -e '.[airflow]'` (or `scripts/bootstrap.sh airflow`: .venv-airflow from
requirements-airflow.lock) and point `dags_folder` at this directory. Tenants and warehouse come from the
worker's environment, see deploy/litmos_tenants.py (SOURCES__LITMOS__TENANTS__<NAME>__API_KEY ...).
Try it: `airflow dags test litmos_sync`.

- `tenant_names` lists the tenants when the run starts; `sync_tenant.expand(tenant=...)` maps one task
  per tenant (dynamic task mapping), each running the CLI's code path (`pipelines.runner.run_sync`: its
  own pipeline `litmos__<tenant>`, dataset `litmos_raw__<tenant>`, rate budget and run history). A
  tenant that fails (bad key, host down) fails its own task only; the others land.
- A failure a rerun cannot fix (rejected key, bad setting) fails at once without retries; a transient
  one (host down, a broken page) is retried, and the retry resumes from the last committed batch.
- `build_marts` runs once all tenants are done (`all_done`) and one has synced, over every configured tenant
  (a tenant that failed tonight keeps its rows in the marts; dbt skips one with no raw data yet).
- DuckDB has one writer per file: with LITMOS_DESTINATION=duckdb the tenants' tasks run one at a time
  (`max_active_tis_per_dagrun=1`); on Postgres they run in parallel, each within its own key's budget.
Parsing this file makes no request and imports neither dlt nor dbt (they load inside the tasks).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException

DEFAULT_ARGS = {"owner": "data", "retries": 2, "retry_delay": pendulum.duration(minutes=15)}
ONE_WRITER = os.environ.get("LITMOS_DESTINATION", "duckdb") == "duckdb"


def deploy_tenants() -> Any:
    """deploy/litmos_tenants.py, shared with the Dagster code location (deploy/ is not a package)."""
    name = "litmos_tenants"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: its dataclass looks its module up
        spec.loader.exec_module(module)
    return sys.modules[name]


@dag(dag_id="litmos_sync", schedule="15 2 * * *", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
     catchup=False, max_active_runs=1, default_args=DEFAULT_ARGS, tags=["litmos", "dlt", "dbt"])
def litmos_sync():
    """Nightly: one mapped sync task per tenant, then the marts over every configured tenant."""

    @task
    def tenant_names() -> list[str]:
        return [t.name for t in deploy_tenants().load_tenants()]

    @task(max_active_tis_per_dagrun=1 if ONE_WRITER else None)
    def sync_tenant(tenant: str) -> dict[str, Any]:
        from pipelines.runner import RunFailed  # noqa: PLC0415

        try:
            summary = deploy_tenants().sync_tenant(tenant)
        except RunFailed as exc:
            if "to resume" in str(exc):  # transient: the retry resumes from the last committed batch
                raise
            raise AirflowFailException(f"tenant {tenant}: {exc}") from None
        return {"tenant": tenant, "dataset": summary.dataset, "run_id": summary.run_id,
                "rows_loaded": summary.rows_total, "requests": summary.requests_total}

    @task(trigger_rule="all_done", retries=0)
    def build_marts(synced: list[dict[str, Any]]) -> str:
        landed = sorted(s["tenant"] for s in synced if s)
        if not landed:
            raise AirflowFailException("no tenant synced: the marts were not built")
        return deploy_tenants().build_marts().summary()  # every tenant: one that failed tonight keeps its rows

    build_marts(sync_tenant.expand(tenant=tenant_names()))


litmos_sync()
