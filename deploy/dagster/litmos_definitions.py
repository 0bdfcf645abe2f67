"""Dagster definitions: Litmos raw tables as dlt assets (dagster-embedded-elt), marts downstream.

EXAMPLE ONLY: not installed or tested in this repository (Dagster is not a dependency); it is kept
syntactically valid by the test suite. Needs `dagster`, `dagster-embedded-elt` (on newer Dagster the
same API lives in `dagster_dlt`) and this project installed. Configure through env:
SOURCES__LITMOS__API_KEY, SOURCES__LITMOS__SOURCE, SOURCES__LITMOS__BASE_URL,
DESTINATION__DUCKDB__CREDENTIALS (or switch `destination` to "postgres" and set
DESTINATION__POSTGRES__CREDENTIALS). Run: `dagster dev -f deploy/dagster/litmos_definitions.py`.

Building `litmos_source()` makes no request and starts no thread (work starts when dlt extracts), so
loading this code location does not call Litmos. `litmos_nightly_cli` below is the alternative that also
commits in batches of windows and writes the run history, like the CLI.
"""
from __future__ import annotations

import os

import dlt
from dagster import AssetExecutionContext, Definitions, ScheduleDefinition, asset, define_asset_job
from dagster_embedded_elt.dlt import DagsterDltResource, dlt_assets

from sources.litmos import litmos_source

DATASET = "litmos_raw"
DESTINATION = "duckdb"


@dlt_assets(
    dlt_source=litmos_source(),
    dlt_pipeline=dlt.pipeline(pipeline_name="litmos", dataset_name=DATASET, destination=DESTINATION,
                              pipelines_dir=os.environ.get("LITMOS_STATE_DIR", "state")),
    name="litmos",
    group_name="litmos_raw",
)
def litmos_raw_assets(context: AssetExecutionContext, dlt: DagsterDltResource):
    """Every Litmos resource (one asset per raw table), loaded incrementally from its cursor."""
    yield from dlt.run(context=context)


@asset(group_name="litmos_marts", deps=[litmos_raw_assets])
def litmos_marts() -> None:
    """dbt staging -> marts (schema litmos_marts) over the freshly loaded raw tables."""
    from pipelines.config import resolve_credentials
    from pipelines.dbt_runner import build_marts

    build_marts(DESTINATION, resolve_credentials(DESTINATION), raw_schema=DATASET)


@asset(group_name="litmos")
def litmos_nightly_cli() -> None:
    """The CLI's code path in one asset: extract + load (batched, resumable), run history, dbt marts."""
    from pipelines.runner import run_sync

    run_sync(destination=DESTINATION, dataset=DATASET, state_dir=os.environ.get("LITMOS_STATE_DIR", "state"))


nightly = define_asset_job("litmos_nightly", selection=[litmos_raw_assets, litmos_marts])

defs = Definitions(
    assets=[litmos_raw_assets, litmos_marts, litmos_nightly_cli],
    resources={"dlt": DagsterDltResource()},
    jobs=[nightly],
    schedules=[ScheduleDefinition(job=nightly, cron_schedule="15 2 * * *", execution_timezone="UTC")],
)
