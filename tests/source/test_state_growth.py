"""The state dir stays flat night after night, and a batch that did not really commit fails the run.

Tests marked ``needs_sync_hook`` run ``sync()`` as is and pass once ``pipelines/sync.py`` calls
``pipelines.state_hygiene`` (DLT_CONFIG in ``_make_pipeline``, ``verify_committed`` after each batch,
``prune_loaded_packages`` after the run); until then they are expected failures (strict).
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import dlt
import duckdb
import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines.state_hygiene import (StateNotCommittedError, dir_size, prune_loaded_packages,
                                     verify_committed)
from sources.litmos.exceptions import LitmosError
from .truth import diff_all

UTC = timezone.utc
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _sync_source() -> str:
    with open(os.path.join(ROOT, "pipelines", "sync.py"), encoding="utf-8") as fh:
        return fh.read()


def needs_sync_hook(name: str):
    return pytest.mark.xfail(name not in _sync_source(), strict=True,
                             reason=f"needs the {name} hook in pipelines/sync.py")


# --- verify_committed, with a tiny dlt source ------------------------------------------------------

def _tiny(rows: int, cursor: str):
    @dlt.source(name="litmos")
    def src():
        @dlt.resource(name="users", primary_key="id", write_disposition="merge")
        def users():
            yield [{"id": i} for i in range(rows)]
            dlt.current.source_state().setdefault("cursors", {})["users"] = cursor
        return users
    return src()


def _pipeline(tmp_path, name="litmos"):
    return dlt.pipeline(name, destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw", pipelines_dir=str(tmp_path / "state"))


def test_verify_committed_passes_after_a_real_batch(tmp_path):
    p = _pipeline(tmp_path)
    p.run(_tiny(3, "2026-01-01T00:00:00+00:00"))
    verify_committed(p, {"users": datetime(2026, 1, 1, tzinfo=UTC)}, batch="batch 1 of 1")


def test_a_batch_dlt_skipped_for_a_pending_package_is_not_committed(tmp_path):
    """pipeline.run(data) with a pending package loads that package and silently drops ``data``."""
    p = _pipeline(tmp_path)
    p.run(_tiny(3, "2026-01-01T00:00:00+00:00"))
    p.extract(_tiny(5, "2026-01-02T00:00:00+00:00"))  # e.g. another process's batch in the same dir
    p.normalize()
    p.run(_tiny(7, "2026-01-03T00:00:00+00:00"))
    with pytest.raises(StateNotCommittedError) as info:
        verify_committed(p, {"users": datetime(2026, 1, 3, tzinfo=UTC)}, batch="batch 2 of 3")
    msg = str(info.value)
    assert isinstance(info.value, LitmosError) and "\n" not in msg
    assert msg.startswith("batch 2 of 3 was not committed: dlt loaded a pending package it found in ")


def test_cursor_or_warehouse_state_behind_is_not_committed(tmp_path):
    p = _pipeline(tmp_path)
    p.run(_tiny(3, "2026-01-01T00:00:00+00:00"))
    with pytest.raises(StateNotCommittedError, match=r"the cursor of users is 2026-01-01 00:00:00, the batch "
                                                     r"set 2026-01-05 00:00:00"):
        verify_committed(p, {"users": datetime(2026, 1, 5, tzinfo=UTC)})
    with p.sql_client() as c:  # the warehouse lost the state row (e.g. a failed or foreign load)
        c.execute_sql(f"DELETE FROM {c.make_qualified_table_name('_dlt_pipeline_state')}")
    with pytest.raises(StateNotCommittedError, match=r"the warehouse holds pipeline state version none, "
                                                     r"the local state is version 1"):
        verify_committed(p, {"users": datetime(2026, 1, 1, tzinfo=UTC)})


def test_verify_committed_reads_the_postgres_state_too(tmp_path, pg_database):
    from pipelines.destination import postgres_credentials as _pg_credentials

    p = dlt.pipeline("litmos", destination=dlt.destinations.postgres(credentials=_pg_credentials(pg_database)),
                     dataset_name="raw", pipelines_dir=str(tmp_path / "state"))
    p.run(_tiny(3, "2026-01-01T00:00:00+00:00"))
    verify_committed(p, {"users": datetime(2026, 1, 1, tzinfo=UTC)})
    p.run(_tiny(4, "2026-01-02T00:00:00+00:00"))
    verify_committed(p, {"users": datetime(2026, 1, 2, tzinfo=UTC)})


# --- load/loaded/ growth over simulated nights -----------------------------------------------------

NIGHTS = 6


def _nights(tmp_path, after_run=None) -> tuple[list[int], object]:
    cfg = SimConfig(seed=4, scale=300, history_days=10, now=datetime(2026, 1, 15, 2, 0, tzinfo=UTC))
    from pipelines.sync import sync

    sizes = []
    with run_simulator(cfg) as sim:
        kw = dict(credentials=str(tmp_path / "w.duckdb"), state_dir=str(tmp_path / "state"),
                  start_date="2026-01-04", requests_per_minute=0, api_key=sim.api_key, base_url=sim.base_url)
        for night in range(NIGHTS):
            if night:
                sim.advance(timedelta(days=1), activity=True)
            sync(**kw)
            if after_run:
                after_run(str(tmp_path / "state" / "litmos"))
            sizes.append(dir_size(str(tmp_path / "state" / "litmos" / "load" / "loaded")))
        conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            problems = diff_all(sim, conn)
        finally:
            conn.close()
    return sizes, problems


def _assert_flat(sizes: list[int]) -> None:
    # night 1 is the first sync; from night 2 on every night keeps the same few packages' metadata
    assert max(sizes[2:]) <= sizes[1] * 1.25 + 20_000, sizes
    assert sizes[-1] < 400_000, sizes  # no job files (parquet) kept


def test_pruning_keeps_load_loaded_flat_and_the_data_exact(tmp_path, monkeypatch):
    """What the hook does, called from here: job files deleted at load, old packages pruned."""
    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "true")  # = state_hygiene.DLT_CONFIG
    sizes, problems = _nights(tmp_path, after_run=prune_loaded_packages)
    assert problems == []
    _assert_flat(sizes)
    loaded = tmp_path / "state" / "litmos" / "load" / "loaded"
    assert len(os.listdir(loaded)) == 2
    assert not any(p.suffix in (".parquet", ".gz", ".jsonl") for p in loaded.rglob("*") if p.is_file())


def test_prune_never_touches_pending_packages(tmp_path):
    p = _pipeline(tmp_path)
    for day in range(1, 5):
        p.run(_tiny(3, f"2026-01-0{day}T00:00:00+00:00"))
    p.extract(_tiny(5, "2026-01-09T00:00:00+00:00"))
    p.normalize()
    before = len(p.list_completed_load_packages())
    assert before == 4
    assert prune_loaded_packages(p, keep=1) > 0
    assert len(p.list_completed_load_packages()) == 1
    assert p.has_pending_data and len(p.list_normalized_load_packages()) == 1
    p.run()  # the pending package still loads
    assert not p.has_pending_data
    assert p.state["sources"]["litmos"]["cursors"]["users"] == "2026-01-09T00:00:00+00:00"


@needs_sync_hook("prune_loaded_packages")
def test_state_dir_stays_flat_over_nights(tmp_path):
    """Today ``load/loaded/`` keeps every package's files: it grows every night."""
    sizes, problems = _nights(tmp_path)
    assert problems == []
    _assert_flat(sizes)
