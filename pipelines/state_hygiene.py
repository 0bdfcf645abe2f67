"""Keeping the pipeline state dir honest and small.

- :func:`verify_committed`: after each committed batch, the batch's cursors must be in the pipeline's
  state and the warehouse must hold that state. dlt's ``pipeline.run(data)`` silently loads a pending
  package it finds instead of extracting ``data`` (another process's package, or one a failed load left),
  and the next batch would then move the cursors past the skipped one: rows lost for good. Raises
  :class:`StateNotCommittedError` (one line; the run fails, exit 1; the rerun reads the batch again).
- :func:`finish_pending`: loads what a killed run extracted without ``pipeline.run()``, whose destination
  sync wipes a pipeline whose dataset does not exist yet (a kill in the very first batch).
- :func:`prune_loaded_packages`: ``load/loaded/`` keeps every loaded package (its parquet files, schema and
  package state) forever, +1 MB a night. A resume needs none of it: the cursors live in ``state.json``
  (and the warehouse's ``_dlt_pipeline_state``), unfinished work in ``normalize/`` and
  ``load/normalized/``, which are never touched here. Set dlt's ``load.delete_completed_jobs`` (see
  :data:`DLT_CONFIG`) so a package's job files go as soon as it is loaded, and prune the packages
  themselves after each run, keeping the newest few for ``dlt pipeline ... info``.
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

# dlt settings (pipelines.dlt_defaults registers them): delete a loaded package's job files (parquet/jsonl)
# right after the load; a package with failed jobs keeps them.
DLT_CONFIG = {"load.delete_completed_jobs": True}
KEEP_LOADED_PACKAGES = 2
STATE_TABLE = "_dlt_pipeline_state"


class StateNotCommittedError(LitmosError):
    """A batch's pipeline.run returned, but its cursors are not in the local or the warehouse state."""


def source_state(pipeline: Any) -> dict[str, Any]:
    """The Litmos source's state in ``pipeline`` (cursors, history marks, re-syncs)."""
    return pipeline.state.get("sources", {}).get(SOURCE_NAME, {})


def _cursors(pipeline: Any) -> dict[str, datetime | None]:
    return cursors_from_state(source_state(pipeline))


def _destination_state(pipeline: Any) -> tuple[int, str] | None:
    """(version, version_hash) of the newest state row of this pipeline in the warehouse, or None."""
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(STATE_TABLE)
        rows = client.execute_sql(
            f"SELECT version, version_hash FROM {table} WHERE pipeline_name = %s ORDER BY version DESC LIMIT 1",
            pipeline.pipeline_name)
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def verify_committed(pipeline: Any, expected: dict[str, datetime] | None = None, *, batch: str = "",
                     check_destination: bool = True) -> None:
    """Checks that a batch's ``pipeline.run`` really committed the batch.

    - the run extracted the batch and loaded what it extracted (dlt's ``run(data)`` loads a pending
      package it finds instead, and drops ``data`` with a warning);
    - nothing is left pending in the working dir;
    - the cursors in ``expected`` (optional) are the local state's;
    - the warehouse's ``_dlt_pipeline_state`` holds the local state's version (one query).

    Args:
        pipeline: The dlt pipeline right after the batch's ``pipeline.run``.
        expected: Table -> cursor the batch set; None = do not compare cursors.
        batch: How to name the batch in the message, e.g. ``"batch 3 of 8"``.
        check_destination: Also compare with the warehouse's state table.

    Raises:
        StateNotCommittedError: One line saying what is behind.
    """
    what = batch or "the batch"
    where = f"state dir {os.path.dirname(pipeline.working_dir)} (pipeline {pipeline.pipeline_name})"
    hint = "nothing after it was loaded; rerun `litmos-sync run` to read it again"
    trace = getattr(pipeline, "last_trace", None)
    if trace is not None:
        # No extract step: run(data) found a normalized package and only loaded it. (An extracted package
        # that is not in the load step was empty, dropped by normalize, or is still pending: next check.)
        if trace.last_extract_info is None:
            raise StateNotCommittedError(
                f"{what} was not committed: dlt loaded a pending package it found in {where} instead of "
                f"extracting the batch (is another run using it?); {hint}")
    if pipeline.has_pending_data:
        raise StateNotCommittedError(
            f"{what} was not committed: a load package is still pending in {where} (another process writing "
            f"into the same state dir, or a load that failed); {hint}")
    have = _cursors(pipeline)
    for table, cursor in sorted((expected or {}).items()):
        got = have.get(table)
        if got is None or got != cursor:
            raise StateNotCommittedError(
                f"{what} was not committed: the cursor of {table} is {_fmt(got)}, the batch set {_fmt(cursor)} "
                f"(is another run using {where}?); {hint}")
    if not check_destination:
        return
    local = (int(pipeline.state.get("_state_version", 0)), str(pipeline.state.get("_version_hash", "")))
    remote = _destination_state(pipeline)
    if remote is None or remote[0] < local[0] or (remote[0] == local[0] and remote[1] != local[1]):
        raise StateNotCommittedError(
            f"{what} was not committed: the warehouse holds pipeline state version "
            f"{remote[0] if remote else 'none'}, the local state is version {local[0]} ({where}); {hint}")


def finish_pending(pipeline: Any) -> bool:
    """Normalizes and loads the packages a killed run left (rows + cursors of extracted batches).

    Not with ``pipeline.run()``: it first syncs with the destination, and when the warehouse dataset does
    not exist yet (a kill during the very first batch's extract-to-load) dlt takes the pipeline for one
    whose dataset was dropped and wipes its working dir, pending package and cursors included: the rerun
    then read the whole history again. ``normalize()`` and ``load()`` do not sync; the caller's
    ``pipeline.sync_destination()`` afterwards finds the state it just loaded.

    Returns:
        Whether anything was pending.
    """
    pending = False
    if pipeline.list_extracted_load_packages():
        pending = True
        pipeline.normalize()
    if pipeline.list_normalized_load_packages():
        pending = True
        pipeline.load()
    return pending


def _fmt(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value else "unset"


def rows_committed_since(destination: str, credentials: str, dataset: str, tables: list[str],
                         since: datetime) -> dict[str, int]:
    """Rows of each raw table that loads committed since ``since`` wrote (by ``_dlt_load_id``).

    What a failed or interrupted run's history row reports as ``rows_loaded``: the records the progress
    bars counted include pages of batches that never committed (``rows last 166`` over ``rows total
    39``). Load ids are the packages' creation times on this machine's clock, so they compare with the
    run's start without trusting the warehouse's clock. Tables without a load yet count 0; {} when the
    warehouse cannot be read (then nothing is claimed).
    """
    try:
        return _rows_committed_since(destination, credentials, dataset, tables, since)
    except Exception as exc:  # noqa: BLE001 - the history row must still be written
        log.warning("could not count the rows this run committed: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return {}


def _rows_committed_since(destination: str, credentials: str, dataset: str, tables: list[str],
                          since: datetime) -> dict[str, int]:
    from pipelines.warehouse import open_warehouse, quote_ident  # noqa: PLC0415

    out = {t: 0 for t in tables}
    with open_warehouse(destination, credentials) as wh:
        ds = quote_ident(dataset)
        # By the rows' own load ids, not by _dlt_loads: a kill between a load's table writes and its
        # _dlt_loads row leaves rows in the table that no completed load lists (the rerun completes it).
        for table in tables:
            if wh.table_exists(dataset, table) and "_dlt_load_id" in wh.columns(dataset, table):
                out[table] = int(wh.query(
                    f"SELECT count(*) AS n FROM {ds}.{quote_ident(table)} "
                    f"WHERE CAST(_dlt_load_id AS DOUBLE PRECISION) >= {since.timestamp() - 1:.6f}")[0]["n"])
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
    """Deletes all but the newest ``keep`` packages in the pipeline's ``load/loaded/``.

    Only fully loaded (or aborted) packages live there; pending work (``normalize/extracted``,
    ``load/new``, ``load/normalized``) and the state are never touched. Call it while holding the
    pipeline lock, after a run (or after each batch).

    Args:
        pipeline_or_dir: A dlt pipeline, or its working dir (``<state_dir>/<pipeline_name>``).
        keep: Newest packages kept (load ids are timestamps, so newest = largest).

    Returns:
        Bytes freed.
    """
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


__all__ = ["StateNotCommittedError", "verify_committed", "finish_pending", "rows_committed_since", "prune_loaded_packages",
           "dir_size", "DLT_CONFIG", "KEEP_LOADED_PACKAGES"]
