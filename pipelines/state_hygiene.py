"""Keeping the pipeline state dir honest and small.

- :func:`verify_committed`: dlt's ``pipeline.run(data)`` silently loads a pending package it finds
  instead of extracting ``data``; the next batch would then move the cursors past the skipped one.
- :func:`finish_pending`: loads what a killed run extracted, without ``pipeline.run()``.
- :func:`prune_loaded_packages`: ``load/loaded/`` would keep every loaded package forever (+1 MB a night);
  a resume needs none of them.
"""
from __future__ import annotations

import logging
import os
import shutil
from datetime import datetime, timezone
from typing import Any

from sources.litmos import SOURCE_NAME, cursors_from_state
from sources.litmos.exceptions import LitmosError

log = logging.getLogger(__name__)

# Registered by pipelines.dlt_defaults: a loaded package's job files go at once (failed jobs stay).
DLT_CONFIG = {"load.delete_completed_jobs": True}
KEEP_LOADED_PACKAGES = 2
STATE_TABLE = "_dlt_pipeline_state"


class StateNotCommittedError(LitmosError):
    """A batch's pipeline.run returned, but its cursors are not in the local or the warehouse state."""


def source_state(pipeline: Any) -> dict[str, Any]:
    """The Litmos source's state in ``pipeline`` (cursors, history marks, re-syncs)."""
    return pipeline.state.get("sources", {}).get(SOURCE_NAME, {})


def _destination_state(pipeline: Any) -> tuple[int, str] | None:
    """(version, version_hash) of the newest state row of this pipeline in the warehouse, or None."""
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(STATE_TABLE)
        rows = client.execute_sql(
            f"SELECT version, version_hash FROM {table} WHERE pipeline_name = %s ORDER BY version DESC LIMIT 1",
            pipeline.pipeline_name)
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def verify_committed(pipeline: Any, expected: dict[str, datetime] | None = None, *, batch: str = "",
                     check_destination: bool = True, run_step: bool = True) -> None:
    """Checks that a batch's ``pipeline.run`` (``run_step``; else its own extract, normalize and load
    steps) extracted and loaded the batch, left nothing pending, set the ``expected`` cursors and
    (``check_destination``) that the warehouse holds the local state.

    Raises:
        StateNotCommittedError: One line saying what is behind (``batch`` names the batch).
    """
    where = f"state dir {os.path.dirname(pipeline.working_dir)} (pipeline {pipeline.pipeline_name})"

    def behind(reason: str) -> StateNotCommittedError:
        return StateNotCommittedError(f"{batch or 'the batch'} was not committed: {reason}; nothing after it was "
                                      "loaded; rerun `litmos-sync run` to read it again")

    trace = getattr(pipeline, "last_trace", None)
    # No extract step: run(data) found a normalized package and only loaded it. (An extracted package that
    # is not in the load step was empty, dropped by normalize, or is still pending: the next check.)
    if run_step and trace is not None and trace.last_extract_info is None:
        raise behind(f"dlt loaded a pending package it found in {where} instead of extracting the batch "
                     "(is another run using it?)")
    if pipeline.has_pending_data:
        raise behind(f"a load package is still pending in {where} (another process writing into the same state "
                     "dir, or a load that failed)")
    have = cursors_from_state(source_state(pipeline))
    for table, cursor in sorted((expected or {}).items()):
        got = have.get(table)
        if got is None or got != cursor:
            raise behind(f"the cursor of {table} is {_fmt(got)}, the batch set {_fmt(cursor)} "
                         f"(is another run using {where}?)")
    if not check_destination:
        return
    local = (int(pipeline.state.get("_state_version", 0)), str(pipeline.state.get("_version_hash", "")))
    remote = _destination_state(pipeline)
    if remote is None or remote[0] < local[0] or (remote[0] == local[0] and remote[1] != local[1]):
        raise behind(f"the warehouse holds pipeline state version {remote[0] if remote else 'none'}, the local "
                     f"state is version {local[0]} ({where})")


def finish_pending(pipeline: Any) -> bool:
    """Normalizes and loads the packages a killed run left; returns whether anything was pending.

    Not ``pipeline.run()``: its destination sync wipes the working dir when the dataset does not exist
    yet (a kill in the very first batch), pending package and cursors included.
    """
    extracted = bool(pipeline.list_extracted_load_packages())
    if extracted:
        pipeline.normalize()
    normalized = bool(pipeline.list_normalized_load_packages())
    if normalized:
        pipeline.load()
    return extracted or normalized


def _fmt(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value else "unset"


def rows_committed_since(destination: str, credentials: str, dataset: str, tables: list[str],
                         since: datetime) -> dict[str, int]:
    """Rows of each raw table committed since ``since`` ({} when the warehouse cannot be read): a failed run's
    ``rows_loaded``. By the rows' own load ids, not ``_dlt_loads``: a kill between a load's table writes and
    its ``_dlt_loads`` row leaves rows no completed load lists."""
    out = {t: 0 for t in tables}
    try:
        from pipelines.warehouse import open_warehouse, quote_ident  # noqa: PLC0415

        with open_warehouse(destination, credentials) as wh:
            for table in tables:
                if wh.table_exists(dataset, table) and "_dlt_load_id" in wh.columns(dataset, table):
                    out[table] = int(wh.query(
                        f"SELECT count(*) AS n FROM {quote_ident(dataset)}.{quote_ident(table)} "
                        f"WHERE CAST(_dlt_load_id AS DOUBLE PRECISION) >= {since.timestamp() - 1:.6f}")[0]["n"])
    except Exception as exc:  # noqa: BLE001 - the history row must still be written
        log.warning("could not count the rows this run committed: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return {}
    return out


def dir_size(path: str) -> int:
    """Bytes of all files below ``path`` (0 when missing)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def prune_loaded_packages(pipeline_or_dir: Any, keep: int = KEEP_LOADED_PACKAGES) -> int:
    """Deletes all but the newest ``keep`` packages in ``load/loaded/`` of a pipeline (or its working dir);
    returns the bytes freed. Call it holding the pipeline lock."""
    working_dir = getattr(pipeline_or_dir, "working_dir", pipeline_or_dir)
    loaded = os.path.join(working_dir, "load", "loaded")
    if not os.path.isdir(loaded):
        return 0

    def load_id_key(name: str) -> tuple[int, float, str]:
        try:
            return (0, float(name), name)
        except ValueError:
            return (1, 0.0, name)  # not a load id: never pruned first

    packages = sorted((p for p in os.listdir(loaded) if os.path.isdir(os.path.join(loaded, p))), key=load_id_key)
    freed = 0
    for name in packages[:max(0, len(packages) - max(0, keep))]:
        if load_id_key(name)[0]:
            continue
        path = os.path.join(loaded, name)
        size = dir_size(path)
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            freed += size
    if freed:
        log.debug("pruned %d bytes of loaded packages in %s", freed, loaded)
    return freed
