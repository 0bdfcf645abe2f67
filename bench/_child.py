"""Child-process entry of the benchmarks: `python -m bench._child TASK JSON_KWARGS OUT_JSON`.

Tasks: `sync` (pipelines.sync.sync), `naive` (bench.naive_pipeline.run_naive). Each writes a JSON result
with its own wall time and VmHWM, so the parent measures one process's memory, not the simulator's.
"""
from __future__ import annotations

import json
import sys
import time
import traceback


def main() -> int:
    task, kwargs, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    from bench.common import result_to_dict, vm_hwm_mb

    payload: dict = {}
    code = 0
    t0 = time.monotonic()
    try:
        if task == "sync":
            from pipelines.process_memory import tune_process_memory
            from pipelines.sync import sync

            tune_process_memory()

            t0 = time.monotonic()  # time the run, not the imports
            payload = result_to_dict(sync(**kwargs))
        elif task == "naive":
            from bench.naive_pipeline import run_naive

            t0 = time.monotonic()
            payload = run_naive(**kwargs)
        else:
            raise SystemExit(f"unknown task {task}")
    except BaseException as exc:  # noqa: BLE001 - report to the parent
        traceback.print_exc()
        payload = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
        code = 1
    payload["_wall_s"] = time.monotonic() - t0
    payload["_vmhwm_mb"] = vm_hwm_mb()
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    return code


if __name__ == "__main__":
    sys.exit(main())
