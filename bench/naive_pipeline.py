"""The straightforward baseline of benchmark 3: a dlt resource yielding one dict per row from ElementTree.

Sequential requests, `xml.etree.ElementTree`, text values (no type conversion: cheaper than the real
pipeline's typing, so the comparison favours the baseline), merge on the same key into DuckDB.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import dlt
import requests

NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def run_naive(base_url: str, api_key: str, path: str, windows: list[list[str]], duckdb_path: str,
              pipelines_dir: str, table: str = "course_results", primary_key=("user_id", "id"),
              source: str = "bench") -> dict:
    """Loads every page of `path` for the given [since, to] windows; returns rows, requests, seconds."""
    stats = {"requests": 0, "rows": 0}

    @dlt.resource(name=table, write_disposition="merge", primary_key=list(primary_key))
    def rows():
        session = requests.Session()
        for since, to in windows:
            start = 0
            while True:
                r = session.get(base_url + path, headers={"apikey": api_key}, timeout=300, params={
                    "source": source, "since": since, "to": to, "start": start, "limit": 1000})
                r.raise_for_status()
                stats["requests"] += 1
                records = list(ET.fromstring(r.content))
                for rec in records:
                    yield {child.tag.split("}")[-1]: (None if child.get(NIL) == "true" else child.text)
                           for child in rec}
                stats["rows"] += len(records)
                if len(records) < 1000:
                    break
                start += len(records)

    pipeline = dlt.pipeline(pipeline_name="bench_naive", pipelines_dir=pipelines_dir,
                            destination=dlt.destinations.duckdb(duckdb_path), dataset_name="naive_raw")
    t0 = time.monotonic()
    pipeline.run(rows())
    return {**stats, "seconds": time.monotonic() - t0}
