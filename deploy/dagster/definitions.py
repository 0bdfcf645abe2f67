"""Dagster code location: every tenant's Litmos raw tables (dagster-dlt) and the dbt marts (dagster-dbt).

Install: `pip install -e '.[dagster]'` (or `scripts/bootstrap.sh dagster`: .venv-dagster from
requirements-dagster.lock). Run: `dagster dev -f deploy/dagster/definitions.py`, or one tenant by hand:
`dagster asset materialize -f deploy/dagster/definitions.py --select 'group:litmos_raw' --partition acme`.
Tenants and warehouse come from the environment, see deploy/litmos_tenants.py.

- Raw assets: one asset per raw table, built by `@dlt_assets` from `litmos_source()` (the specs only:
  building the source makes no request), partitioned by tenant (`StaticPartitionsDefinition`). The body
  does NOT run `dlt.run` on the plain source: dlt-native extraction starts one year back on a first run,
  so an org older than that would lose its early history. It runs the tenant's sync through
  `pipelines.runner.run_sync` (the CLI's code path: whole-history walk, batch commits, run history,
  its own pipeline `litmos__<tenant>` and dataset `litmos_raw__<tenant>`), and reports one
  `MaterializeResult` per table with the rows the run loaded.
- Marts: `@dbt_assets` over dbt_models' manifest (parsed here when missing or older than the project);
  the body runs `pipelines.dbt_runner.build_marts` (profiles from the same credentials, one line on
  failure) and reports each model. dbt's own tests run in that build; they are not mapped to checks.
- `litmos_nightly`: at 02:15 UTC one run per tenant partition (a broken tenant fails its own run only);
  the marts follow by `AutomationCondition.on_cron` once the raw tables were updated after the tick
  (needs Dagster's automation sensor turned on).
- Checks: `tenants_synced` on the marts (every tenant's last run succeeded within FRESH_HOURS, read from
  its run history; it runs with `litmos_marts_build`) and Dagster's last-update freshness check.
- DuckDB has one writer per file: both asset groups use the pool `litmos_warehouse`; give it limit 1 in
  dagster.yaml (`concurrency: pools: default_limit: 1`) for DuckDB; Postgres takes parallel tenants.
"""

# No `from __future__ import annotations`: Dagster checks the `context` annotation at definition time.
import datetime as dt
import importlib.util
import json
import sys
import tempfile
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any, Iterator

import dlt
from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetExecutionContext, AssetKey,
                     AssetSelection, AutomationCondition, Definitions, MaterializeResult, RunRequest,
                     ScheduleEvaluationContext, StaticPartitionsDefinition, asset_check,
                     build_last_update_freshness_checks, define_asset_job, in_process_executor, schedule)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_dlt import DagsterDltTranslator, dlt_assets

from sources.litmos import litmos_source

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt_models"
MANIFEST = DBT_DIR / "target" / "dagster" / "manifest.json"
NIGHTLY_CRON = "15 2 * * *"
FRESH_HOURS = 26  # a nightly run, plus slack for a slow night
POOL = "litmos_warehouse"


def _deploy_module(name: str) -> Any:
    """deploy/<name>.py, shared with the Airflow DAG (deploy/ is not a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "deploy" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: its dataclass looks its module up
        spec.loader.exec_module(module)
    return sys.modules[name]


tenants = _deploy_module("litmos_tenants")
TENANTS = StaticPartitionsDefinition([t.name for t in tenants.load_tenants()])


class RawTranslator(DagsterDltTranslator):
    """Raw table `users` -> asset `litmos_raw/users` (the key the dbt sources point at)."""

    def get_asset_spec(self, data):  # noqa: ANN001 - DltResourceTranslatorData
        return super().get_asset_spec(data).replace_attributes(key=AssetKey(["litmos_raw", data.resource.name]))


@dlt_assets(
    dlt_source=litmos_source(api_key="asset-specs-only"),  # never requests: the body syncs each tenant
    dlt_pipeline=dlt.pipeline(pipeline_name="litmos_dagster_specs", destination=tenants.destination(),
                              dataset_name=tenants.dataset_prefix(),
                              pipelines_dir=str(Path(tempfile.gettempdir()) / "litmos_dagster_specs")),
    name="litmos_raw_tables",
    group_name="litmos_raw",
    dagster_dlt_translator=RawTranslator(),
    partitions_def=TENANTS,
    pool=POOL,
)
def litmos_raw_tables(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
    """One tenant's sync (the partition) of the selected tables, then one materialization per table."""
    keys = _selected_in_dependency_order(context)
    subset = None if set(keys) == set(context.assets_def.keys) else [k.path[-1] for k in keys]
    summary = tenants.sync_tenant(context.partition_key, resources=subset)
    rows = {r.resource: r.rows_loaded or 0 for r in summary.resources}
    for key in keys:
        table = key.path[-1]
        yield MaterializeResult(asset_key=key, metadata={
            "tenant": context.partition_key, "dataset": summary.dataset, "run_id": summary.run_id,
            "rows_loaded": rows.get(table, 0), "requests_total": summary.requests_total})


def _selected_in_dependency_order(context: AssetExecutionContext) -> list[AssetKey]:
    """The run's assets of this multi-asset, upstream first (Dagster wants their results in that order)."""
    deps = context.assets_def.asset_deps
    order = TopologicalSorter({k: deps.get(k, set()) for k in context.assets_def.keys}).static_order()
    return [k for k in order if k in context.selected_asset_keys]


def _dbt_manifest() -> Path:
    """dbt_models' manifest, parsed again when a model, macro or the project file is newer than it."""
    sources = [DBT_DIR / "dbt_project.yml", *DBT_DIR.glob("models/**/*"), *DBT_DIR.glob("macros/**/*")]
    newest = max(p.stat().st_mtime for p in sources if p.is_file())
    if not MANIFEST.is_file() or MANIFEST.stat().st_mtime < newest:
        from dbt.cli.main import dbtRunner  # noqa: PLC0415 - slow import, only when parsing

        done = dbtRunner().invoke(["--quiet", "parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                                   "--target-path", str(MANIFEST.parent), "--log-path", str(DBT_DIR / "logs"),
                                   "--target", tenants.destination()])
        if not done.success:
            raise RuntimeError(f"dbt parse of {DBT_DIR} failed: {done.exception}; see {DBT_DIR}/logs/dbt.log")
    return MANIFEST


class MartsTranslator(DagsterDbtTranslator):
    """dbt source `litmos.users` -> the raw asset `litmos_raw/users`; models in group litmos_marts."""

    def get_asset_key(self, dbt_resource_props):  # noqa: ANN001
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(["litmos_raw", dbt_resource_props["name"]])
        # The schema the model is built in (litmos_marts/dim_users), not dbt's custom-schema suffix (marts).
        from pipelines.config import schema_prefix  # noqa: PLC0415

        layer = (dbt_resource_props.get("config") or {}).get("schema") or "marts"
        return AssetKey([f"{schema_prefix(tenants.dataset_prefix())}_{layer}", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props):  # noqa: ANN001
        return "litmos_marts"

    def get_automation_condition(self, dbt_resource_props):  # noqa: ANN001
        return AutomationCondition.on_cron(NIGHTLY_CRON, cron_timezone="UTC")


@dbt_assets(manifest=_dbt_manifest(), name="litmos_marts", pool=POOL,
            dagster_dbt_translator=MartsTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=False)))
def litmos_marts(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
    """`dbt build` of the selected models over every tenant's raw dataset (see litmos_tenants.build_marts)."""
    keys = _selected_in_dependency_order(context)
    subset = None if set(keys) == set(context.assets_def.keys) else [k.path[-1] for k in keys]
    built = tenants.build_marts(select=subset)
    status = {node.name: node.status for node in built.nodes}
    for key in keys:
        yield MaterializeResult(asset_key=key, metadata={"dbt_status": status.get(key.path[-1], "unknown"),
                                                         "dbt_vars": json.dumps(built.vars, default=str)})


@asset_check(asset=AssetKey(["litmos_marts", "dim_users"]), name="tenants_synced", blocking=False)
def tenants_synced(context: AssetCheckExecutionContext) -> AssetCheckResult:
    """Every tenant's last sync succeeded within FRESH_HOURS (read from its `_litmos_sync_runs`)."""
    from pipelines import config, run_history  # noqa: PLC0415
    from pipelines.warehouse import open_warehouse  # noqa: PLC0415

    now = dt.datetime.now(dt.timezone.utc)
    stale: dict[str, str] = {}
    with open_warehouse(tenants.destination(), config.resolve_credentials(tenants.destination())) as wh:
        for org in tenants.load_tenants():
            latest = run_history.latest_per_resource(wh, tenants.dataset(org))
            if not latest:
                stale[org.name] = "never synced"
                continue
            bad = sorted(r for r, row in latest.items() if row["status"] != "success")
            oldest = min(row["finished_at"] or row["started_at"] for row in latest.values())
            if bad:
                stale[org.name] = f"last run failed for {', '.join(bad)}"
            elif now - oldest > dt.timedelta(hours=FRESH_HOURS):
                stale[org.name] = f"last success {oldest:%Y-%m-%d %H:%M} UTC, over {FRESH_HOURS} h ago"
    context.log.info("tenants_synced: %s", stale or "all fresh")
    return AssetCheckResult(passed=not stale, metadata={"stale_tenants": json.dumps(stale, sort_keys=True)})


raw_job = define_asset_job("litmos_raw_nightly", selection=AssetSelection.groups("litmos_raw"),
                           partitions_def=TENANTS)
marts_job = define_asset_job("litmos_marts_build", selection=AssetSelection.groups("litmos_marts"))


@schedule(job=raw_job, cron_schedule=NIGHTLY_CRON, execution_timezone="UTC")
def litmos_nightly(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
    """One run per tenant: each its own rate budget, a failure stays in its run."""
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    for name in TENANTS.get_partition_keys():
        yield RunRequest(run_key=f"{day}-{name}", partition_key=name)


marts_freshness = build_last_update_freshness_checks(assets=[litmos_marts],
                                                     lower_bound_delta=dt.timedelta(hours=FRESH_HOURS))

defs = Definitions(
    assets=[litmos_raw_tables, litmos_marts],
    asset_checks=[tenants_synced, *marts_freshness],
    jobs=[raw_job, marts_job],
    schedules=[litmos_nightly],
    # Each run is one op (the multi-asset of one tenant, or the dbt build): a step process per run would
    # only import the code location a second time.
    executor=in_process_executor,
)
