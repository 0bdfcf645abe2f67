"""Our processes take turns on a DuckDB file: dlt's connections wait for `<file>.lock`, never fail."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

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


WAITING_HOLDER = """
import sys
from pipelines import duckdb_lock
import duckdb
sys.stdin.readline()  # the test says when
with duckdb_lock.file_lock(sys.argv[1]):
    conn = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    sys.stdin.read()
    conn.close()
"""


def test_a_tenant_keeps_fetching_while_another_process_loads_then_commits_every_batch(tmp_path, monkeypatch):
    """Issue 15: while another process has the DuckDB file, a run goes on fetching, extracting and
    normalizing its batches (one package each); at its turn it loads them all, in order, exactly."""
    from datetime import datetime, timezone

    from litmos_sim import SimConfig, run_simulator
    from pipelines.sync import sync
    from sources.litmos.events import BatchCommitted
    from .truth import diff_all

    path, state = tmp_path / "w.duckdb", tmp_path / "state"
    normalized = state / "litmos" / "load" / "normalized"
    monkeypatch.setenv("SOURCES__LITMOS__WINDOWS_PER_BATCH", "1")
    monkeypatch.setenv("SOURCES__LITMOS__MAX_WORKERS", "2")
    holder = subprocess.Popen([sys.executable, "-c", WAITING_HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    committed: list[int] = []
    done: dict = {}

    def on_event(event):
        if isinstance(event, BatchCommitted):
            committed.append(event.index)
            done["total"] = event.total
            if event.index == 0:  # the other process asks for the file during our first turn
                holder.stdin.write("go\n")
                holder.stdin.flush()

    cfg = SimConfig(seed=41, scale=60, history_days=120, latency_ms=20,
                    now=datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc))
    with run_simulator(cfg) as sim:
        def run():
            try:
                sync(credentials=str(path), state_dir=str(state), start_date="2025-09-17", requests_per_minute=0,
                     api_key=sim.api_key, base_url=sim.base_url, on_event=on_event)
                done["ok"] = True
            except Exception as exc:  # noqa: BLE001
                done["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        try:
            assert holder.stdout.readline().strip() == "held"
            at_hold = len(committed)
            left = done["total"] - at_hold
            assert left >= 5, (at_hold, done)
            # Every batch left is fetched and waits as a normalized package while the file is taken (before,
            # the run stopped fetching at the first batch that had to wait).
            deadline = time.monotonic() + 180
            while not (normalized.is_dir() and len(list(normalized.iterdir())) == left):
                assert time.monotonic() < deadline and "error" not in done, (left, done, committed)
                time.sleep(0.05)
            assert len(committed) == at_hold and worker.is_alive()
        finally:
            holder.stdin.close()
            holder.wait(30)
        worker.join(300)
        assert done.get("ok"), done
        assert committed == list(range(done["total"]))
        conn = duckdb.connect(str(path), read_only=True)
        try:
            assert diff_all(sim, conn, "litmos_raw") == []
            loads = conn.execute("SELECT count(*) FROM litmos_raw._dlt_loads WHERE schema_name = 'litmos'").fetchall()
            assert loads == [(done["total"],)]  # one load (package) per batch, as before
        finally:
            conn.close()


def test_a_tenants_loads_run_at_its_priority_and_its_batches_are_prepared_below_it(tmp_path, monkeypatch):
    """Issue 15: in a tenant's process (load_priority.enable, as pipelines.fleet does for DuckDB) every
    batch's extract and normalize run on one thread at nice +10, and every load on the main thread at the
    process's own nice, so the tenant whose turn it is on the file is not slowed by the others' preparing;
    the rows are exact."""
    import functools
    from datetime import datetime, timezone

    from litmos_sim import SimConfig, run_simulator
    from pipelines import load_priority
    from pipelines.sync import sync
    from .truth import diff_all

    monkeypatch.setattr(load_priority, "_worker", None)
    seen: dict[str, set] = {"extract": set(), "normalize": set(), "load": set()}
    calls = dict.fromkeys(seen, 0)
    for name in seen:
        original = getattr(dlt.Pipeline, name)

        def recorded(self, *args, _name=name, _original=original, **kwargs):
            tid = threading.get_native_id()
            seen[_name].add((tid == main, os.getpriority(os.PRIO_PROCESS, tid)))
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(dlt.Pipeline, name, functools.wraps(original)(recorded))
    main = threading.get_native_id()
    own = os.getpriority(os.PRIO_PROCESS, main)
    load_priority.enable()
    monkeypatch.setenv("SOURCES__LITMOS__WINDOWS_PER_BATCH", "2")
    cfg = SimConfig(seed=43, scale=40, history_days=30, now=datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc))
    path = tmp_path / "w.duckdb"
    with run_simulator(cfg) as sim:
        sync(credentials=str(path), state_dir=str(tmp_path / "state"), start_date="2025-12-10",
             requests_per_minute=0, api_key=sim.api_key, base_url=sim.base_url)
        assert calls["extract"] == calls["normalize"] == calls["load"] >= 3  # one of each per batch
        assert seen == {"extract": {(False, min(own + load_priority.NICE, 19))},
                        "normalize": {(False, min(own + load_priority.NICE, 19))},
                        "load": {(True, own)}}
        conn = duckdb.connect(str(path), read_only=True)
        try:
            assert diff_all(sim, conn, "litmos_raw") == []
        finally:
            conn.close()


def test_a_tenants_run_history_is_one_insert_in_its_last_turn_and_dlt_appends_after_it(tmp_path):
    """Issue 15: a tenant of a parallel DuckDB run with no dbt build to follow writes its run history in
    its kept last turn on the file, with one INSERT through that turn's connection: no dlt load of the
    history (no `_dlt_loads` row of its schema, no history pipeline in the state dir), no second turn. A
    later run of the tenant alone writes its history with dlt into the same table."""
    from datetime import datetime, timezone

    from litmos_sim import SimConfig, run_simulator
    from pipelines import run_history
    from .truth import diff_all

    now = datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)
    path, state = tmp_path / "w.duckdb", tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__LITMOS__")}
    env.update(DESTINATION__DUCKDB__CREDENTIALS=str(path), PYTHONPATH=ROOT)
    argv = [sys.executable, "-m", "pipelines.cli", "run", "--no-dbt", "--quiet", "--start-date", "2025-12-01",
            "--requests-per-minute", "0", "--state-dir", str(state)]
    with run_simulator(SimConfig(seed=44, scale=40, history_days=30, now=now, api_key="sk-acme-44")) as acme, \
            run_simulator(SimConfig(seed=45, scale=40, history_days=30, now=now, api_key="sk-beta-45")) as beta:
        sims = {"acme": acme, "beta": beta}
        for name, sim in sims.items():
            env[f"SOURCES__LITMOS__TENANTS__{name.upper()}__API_KEY"] = sim.api_key
            env[f"SOURCES__LITMOS__TENANTS__{name.upper()}__BASE_URL"] = sim.base_url
        done = subprocess.run([*argv, "--all-tenants", "--parallel", "2"], env=env, cwd=str(tmp_path),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert sorted(p.name for p in state.iterdir() if p.is_dir() and "sync_runs" in p.name) == []
        with open_warehouse("duckdb", str(path)) as wh:
            for name, sim in sims.items():
                dataset = f"litmos_raw__{name}"
                assert diff_all(sim, wh.connection, dataset) == []
                rows = run_history.history(wh, dataset)
                assert {(r["run_id"], r["status"], r["dbt_status"]) for r in rows} == {
                    (rows[0]["run_id"], "success", "skipped")}
                assert sorted(r["resource"] for r in rows) == sorted(run_history.latest_per_resource(wh, dataset))
                assert wh.query(f"SELECT count(*) AS n FROM {dataset}._dlt_loads WHERE schema_name <> 'litmos'") \
                    == [{"n": 0}]
        again = subprocess.run([*argv, "--tenant", "acme"], env=env, cwd=str(tmp_path), capture_output=True,
                               text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
    with open_warehouse("duckdb", str(path)) as wh:
        rows = run_history.history(wh, "litmos_raw__acme")
        assert len({r["run_id"] for r in rows}) == 2 and {r["status"] for r in rows} == {"success"}
        assert wh.query("SELECT count(*) AS n FROM litmos_raw__acme._dlt_loads WHERE schema_name <> 'litmos'") \
            == [{"n": 1}]
