"""Run inside .venv-dagster by test_dagster.py: execute one job of deploy/dagster/definitions.py in
process on the instance at $DAGSTER_HOME and print what it did as one JSON line, with the run requests
the nightly schedule makes for 2026-01-15.

Usage: python dagster_marts.py <definitions.py> <job name | "checks" (the asset checks alone)>
"""
import datetime as dt
import importlib.util
import json
import sys

from dagster import AssetSelection, DagsterInstance, Definitions, build_schedule_context, define_asset_job

path, job_name = sys.argv[1:3]
spec = importlib.util.spec_from_file_location("litmos_dagster_definitions", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
defs = module.defs
if job_name == "checks":
    defs = Definitions.merge(defs, Definitions(jobs=[define_asset_job("checks", AssetSelection.all_asset_checks())]))
job = defs.resolve_job_def(job_name)
result = job.execute_in_process(instance=DagsterInstance.get(), raise_on_error=False)
checks = {e.check_name: {"passed": e.passed, "metadata": {k: v.value for k, v in e.metadata.items()}}
          for e in result.get_asset_check_evaluations()}
failures = [e.step_key + ": " + (e.event_specific_data.error.message.strip().splitlines() or [""])[-1]
            for e in result.all_events if e.is_step_failure]
tick = build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 15, 2, 15, tzinfo=dt.timezone.utc),
                              repository_def=module.defs.get_repository_def())
nightly = [[r.run_key, r.partition_key, r.job_name or module.litmos_nightly.job_name]
           for r in module.litmos_nightly.evaluate_tick(tick).run_requests]
print(json.dumps({"success": result.success, "failures": failures, "schedule": nightly,
                  "materialized": sorted("/".join(m.asset_key.path) for m in result.get_asset_materialization_events()
                                         for m in [m.event_specific_data.materialization]),
                  "checks": checks}, default=str))
