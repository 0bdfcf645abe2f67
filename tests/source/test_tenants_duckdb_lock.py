"""Our processes take turns on a DuckDB file: dlt's connections wait for `<file>.lock`, never fail."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import dlt
import duckdb

from pipelines import duckdb_lock
from pipelines.destination import dlt_destination
from pipelines.warehouse import check_destination, open_warehouse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOLDER = """
import sys
from pipelines import duckdb_lock
import duckdb
with duckdb_lock.file_lock(sys.argv[1]):
    conn = duckdb.connect(sys.argv[1])  # writing, as a tenant's load does
    print("held", flush=True)
    sys.stdin.read()
    conn.close()
"""


def _hold(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_dlt_load_waits_for_another_process_then_lands(tmp_path):
    path = tmp_path / "w.duckdb"
    with open_warehouse("duckdb", str(path)):
        pass
    holder = _hold(path)
    try:
        assert duckdb_lock.acquire(str(path), timeout=0) is False
        check_destination("duckdb", str(path))  # one of ours is writing: no "locked by PID" error, wait later
        duckdb_lock.install()
        done: dict = {}

        def load():
            try:
                pipeline = dlt.pipeline(pipeline_name="lock_test", destination=dlt_destination("duckdb", str(path)),
                                        dataset_name="raw", pipelines_dir=str(tmp_path / "st"))
                pipeline.run([{"id": 1}, {"id": 2}], table_name="t")
                done["ok"] = True
            except Exception as exc:  # noqa: BLE001
                done["error"] = exc

        worker = threading.Thread(target=load)
        worker.start()
        worker.join(3)
        # Without the lock DuckDB refuses the second process at once ("Could not set lock on file").
        assert worker.is_alive() and done == {}, done
    finally:
        holder.stdin.close()
        holder.wait(30)
    worker.join(120)
    assert done == {"ok": True}
    assert not duckdb_lock.is_held(str(path))  # dlt returned every connection: the lock is free again
    conn = duckdb.connect(str(path), read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM raw.t").fetchall() == [(2,)]
    finally:
        conn.close()


def test_the_lock_is_counted_within_a_process(tmp_path):
    path = str(tmp_path / "w.duckdb")
    with duckdb_lock.file_lock(path), open_warehouse("duckdb", path) as wh:
        assert duckdb_lock.is_held(path)
        wh.execute("CREATE TABLE x (a int)")
    assert not duckdb_lock.is_held(path)
    holder = _hold(path)
    try:
        assert duckdb_lock.busy(path)
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert not duckdb_lock.busy(path)
