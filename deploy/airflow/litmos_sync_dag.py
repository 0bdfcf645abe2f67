"""Airflow DAG: nightly Litmos -> Postgres load with dlt's `PipelineTasksGroup`, then the dbt marts.

EXAMPLE ONLY: not installed or tested in this repository (Airflow is not a dependency); it is kept
syntactically valid by the test suite. Install the project into the Airflow image
(`pip install -r requirements.lock && pip install -e .`) and set, as Airflow Variables or env:
SOURCES__LITMOS__API_KEY, SOURCES__LITMOS__SOURCE, SOURCES__LITMOS__BASE_URL,
DESTINATION__POSTGRES__CREDENTIALS.

Caveats, read before use:
- Building `litmos_source()` makes no request and starts no thread (work starts when dlt extracts), so
  Airflow parsing this file does not call Litmos.
- The `litmos-sync run` path (the CLI variant, Docker, cron) additionally commits in batches of
  windows and writes the run history table `<dataset>._litmos_sync_runs`; the plain dlt run does not.
"""
from __future__ import annotations

import os

import pendulum
from airflow.decorators import dag, task
from airflow.operators.bash import BashOperator
from dlt.helpers.airflow_helper import PipelineTasksGroup

DATASET = "litmos_raw"
DEFAULT_ARGS = {"owner": "data", "retries": 1, "retry_delay": pendulum.duration(minutes=15)}


@dag(schedule="15 2 * * *", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     max_active_runs=1, default_args=DEFAULT_ARGS, tags=["litmos", "dlt"])
def litmos_sync_dlt():
    """dlt helper variant: one Airflow task runs the dlt pipeline, the next builds the marts."""
    import dlt

    from sources.litmos import litmos_source

    # use_data_folder=False + wipe_local_data: dlt keeps the cursors in the destination's state table,
    # so the worker's local disk is disposable.
    tasks = PipelineTasksGroup("litmos", use_data_folder=False, wipe_local_data=True)
    pipeline = dlt.pipeline(pipeline_name="litmos", dataset_name=DATASET, destination="postgres",
                            progress="log")
    # decompose="none": one task; the source already parallelises requests within its rate budget.
    tasks.add_run(pipeline, litmos_source(), decompose="none", trigger_rule="all_done", retries=0,
                  provide_context=True)

    @task
    def build_marts() -> None:
        from pipelines.dbt_runner import build_marts as run_dbt

        run_dbt("postgres", os.environ["DESTINATION__POSTGRES__CREDENTIALS"], raw_schema=DATASET)

    tasks >> build_marts()


@dag(schedule="15 2 * * *", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     max_active_runs=1, default_args=DEFAULT_ARGS, tags=["litmos"])
def litmos_sync_cli():
    """CLI variant: the same command as cron/Docker (batch commits, run history, dbt, JSON logs)."""
    BashOperator(
        task_id="litmos_sync_run",
        bash_command="litmos-sync run --destination postgres --log-format json",
        append_env=True,  # SOURCES__LITMOS__* / DESTINATION__* come from the worker's environment
    )


litmos_sync_dlt()
litmos_sync_cli()
