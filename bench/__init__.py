"""On-demand benchmarks of issue 5 (`python -m bench --list`, `python -m bench NAME ...`, `make bench`).

Each benchmark module has `DESCRIPTION` and `main(argv) -> int`; it prints its figure last and writes its
run, with the exact command, to docs/benchmarks/<YYYY-MM-DD-HHMM>-<name>.md (`bench.common.write_run`).
Traffic goes to 127.0.0.1 simulators only.
"""
from __future__ import annotations

BENCHMARKS: dict[str, str] = {
    "requests": "bench.bench_requests",   # 1. requests made / minimum possible, 1-year backfill + nightly
    "backfill": "bench.bench_backfill",   # 2. backfill wall time at 100/min, 1-3 s latency vs floor and sequential
    "rows": "bench.bench_rows",           # 3. rows/s XML -> DuckDB vs naive ElementTree dlt, vs raw lxml
    "memory": "bench.bench_memory",       # 4. peak RSS vs number of course results (flat?)
    "nightly": "bench.bench_nightly",     # 5. nightly run of a 50k-user org at 100/min
    "history": "bench.bench_history",     # issue 11: first full-history sync of a 10-year org with the defaults
    "adaptive": "bench.bench_adaptive",   # issue 12.4: wall vs the server's floor at 10-100/min, adaptive budget
    "soak": "bench.bench_soak",           # issue 12: 30 nights, activity, faults, two kill -9s: exact, state dir flat
    "fleet": "bench.bench_fleet",         # issue 15: N orgs at 100/min each: wall vs slowest floor, CPU, RSS, orgs/machine
    "snapshots": "bench.bench_snapshots", # issue 16: compliance history at 50k users x 1 year: first build vs nightly
}
