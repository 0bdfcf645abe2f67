"""DuckDB has one writer per file across processes: our processes take turns on ``<file>.lock``.

Several tenants' runs (one child process each, :mod:`pipelines.fleet`, or orchestrator workers) load
into one DuckDB file. DuckDB refuses a second process outright ("Could not set lock on file"), so every
connection this project opens to a DuckDB file holds an exclusive ``fcntl.flock`` on ``<file>.lock``
while it is open, and waits for it otherwise: dlt's connections (loads, ``sync_destination``, the state
checks and history queries through ``sql_client``) by :func:`install`, which wraps dlt's DuckDB
connection pool, and the CLI's own (:class:`pipelines.warehouse.Warehouse`, the run history, dbt) by
:func:`file_lock`. dlt opens a connection only to load or query and closes it when the last borrower
returns it, so the lock is held around DuckDB work only, never around HTTP: the tenants extract in
parallel and load one after another.

Within a process the lock is counted, not exclusive: DuckDB itself serialises the threads of one
process. The kernel drops the lock when its process ends in any way (kill -9 included). Postgres needs
none of this.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from typing import Any, Callable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: DuckDB's own lock error is the only guard
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("litmos_sync")

_GUARD = threading.Lock()
_HELD: dict[str, list[int]] = {}  # lock file -> [fd, count] held by this process
_WAIT_LOG_S = 5.0


def lock_file(database: str) -> str:
    """The lock file of a DuckDB file: ``<file>.lock`` (absolute)."""
    return os.path.abspath(database) + ".lock"


def _is_file(database: Any) -> bool:
    return isinstance(database, str) and database not in ("", ":memory:", ":pipeline:", ":external:") \
        and not database.startswith(("md:", "motherduck:"))


def acquire(database: str, timeout: float | None = None) -> bool:
    """Takes the lock of ``database`` for this process (counted); waits up to ``timeout`` s (None: as long
    as it takes). Returns False on timeout; True also where no lock file can be made (a read-only or
    missing directory: DuckDB's own error then says what is wrong)."""
    if fcntl is None or not _is_file(database):
        return True
    path = lock_file(database)
    with _GUARD:
        held = _HELD.get(path)
        if held is not None:
            held[1] += 1
            return True
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError:
            return True
        if not _wait(fd, path, timeout):
            os.close(fd)
            return False
        _HELD[path] = [fd, 1]
        return True


def _wait(fd: int, path: str, timeout: float | None) -> bool:
    """Takes the flock of ``fd``: polled (flock has no timeout of its own) with pauses of at most 20 ms,
    so a lock handed on between many waiting tenants is taken again at once; after 5 s of waiting
    without a timeout it is said once and then waited for in the kernel."""
    started = time.monotonic()
    pause = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError:  # a file system without flock: DuckDB's own lock is the guard
            return True
        waited = time.monotonic() - started
        if timeout is not None and waited >= timeout:
            return False
        if timeout is None and waited >= _WAIT_LOG_S:
            log.info("waiting for %s: another run is writing this DuckDB file (one writer at a time)", path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            return True
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def release(database: str) -> None:
    """Releases one level of :func:`acquire`; the last one drops the flock."""
    if fcntl is None or not _is_file(database):
        return
    path = lock_file(database)
    with _GUARD:
        held = _HELD.get(path)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[path]
            os.close(held[0])  # closing the descriptor drops the flock


def is_held(database: str) -> bool:
    """Whether this process holds the lock of ``database``."""
    return lock_file(database) in _HELD


def busy(database: str) -> bool:
    """Whether another process holds the lock of ``database`` now (one of our runs is writing it)."""
    if fcntl is None or not _is_file(database) or is_held(database) or not os.path.exists(lock_file(database)):
        return False
    if not acquire(database, timeout=0):
        return True
    release(database)
    return False


@contextlib.contextmanager
def file_lock(database: str, timeout: float | None = None) -> Iterator[bool]:
    """Holds the lock of ``database`` for the block; yields False when ``timeout`` ran out (not held)."""
    got = acquire(database, timeout)
    try:
        yield got
    finally:
        if got:
            release(database)


def database_of(destination: Any) -> str | None:
    """The DuckDB file a dlt destination writes; None for another destination, a connection or memory."""
    if getattr(destination, "destination_type", "") != "dlt.destinations.duckdb":
        return None
    credentials = (getattr(destination, "config_params", None) or {}).get("credentials")
    database = getattr(credentials, "database", credentials)
    return database if _is_file(database) else None


@contextlib.contextmanager
def turn(database: str | None, wait: bool | Callable[[], bool] = True, keep: bool = False) -> Iterator[bool]:
    """A load's turn on ``database`` (None: not a DuckDB file, always yours): holds its lock and keeps the
    database open in this process for the block. dlt opens a connection per load job and closes the file
    when the last one returns; with the database kept open those reopen DuckDB's cached instance (about
    1 ms, against 100 for reading the catalog and checkpointing each time), and the file is checkpointed
    once, when the turn ends.

    Args:
        database: The DuckDB file.
        wait: True: as long as it takes; False: not at all; a callable: as long as it returns True. When
            the lock is not had, yields False, holding nothing (the caller goes on and tries again later).
        keep: In a process that called :func:`keep_last_turns`, the lock and the open database outlive
            the block until :func:`drop_kept` (a run's last load, then the queries that close the run: one
            turn, not one per query, while the other tenants queue for the file).
    """
    if database is None:
        yield True
        return
    if not (acquire(database, None if wait is True else 0.0) or (callable(wait) and _wait_while(database, wait))):
        yield False
        return
    kept = database in _KEPT  # a kept turn's lock is counted again here; its connection serves this one
    keeper = _KEPT[database] if kept else _open(database)
    try:
        yield True
    finally:
        if keep and _KEEPING and not kept:
            _KEPT[database] = keeper  # this turn's hold is handed over to drop_kept()
        else:
            _close(database, None if kept else keeper)


def _wait_while(database: str, wait: Callable[[], bool]) -> bool:
    """Polls for the lock while ``wait()`` holds (for a batch: while its run still has requests to make)."""
    while wait():
        if acquire(database, _POLL_S):
            return True
    return False


_POLL_S = 0.1
_KEEPING = False
_KEPT: dict[str, Any] = {}  # database -> its open connection, held past a turn


def keep_last_turns() -> None:
    """Lets a run's ``turn(..., keep=True)`` keep the file until :func:`drop_kept` (a tenant's process)."""
    global _KEEPING
    _KEEPING = True


def drop_kept() -> None:
    """Gives up a kept turn: before the run fetches again, and before its run history is written."""
    for database, keeper in list(_KEPT.items()):
        del _KEPT[database]
        _close(database, keeper)


def kept_connection(database: str) -> Any:
    """The open connection of this process's kept turn on ``database`` (None: no turn kept)."""
    return next((keeper for kept, keeper in _KEPT.items() if lock_file(kept) == lock_file(database)), None)


def _open(database: str) -> Any:
    try:
        import duckdb  # noqa: PLC0415

        return duckdb.connect(database)  # dlt's own connect (same settings) then shares this instance
    except Exception:  # noqa: BLE001 - only a speed-up: dlt's own connection says what is wrong
        return None


def _close(database: str, keeper: Any) -> None:
    """Closes ``keeper`` (None: nothing of this turn's own), then releases one level of the lock."""
    try:
        if keeper is not None:
            keeper.close()  # before the lock goes: the file is checkpointed and closed by then
    finally:
        release(database)


def install() -> None:
    """Makes every dlt DuckDB connection of this process hold the file's lock while it is borrowed.

    dlt hands out DuckDB connections through ``DuckDbConnectionPool.borrow_conn``/``return_conn`` only;
    an external connection (the CLI's own, already locked) is counted again, which is harmless.
    """
    from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool as Pool  # noqa: PLC0415

    if getattr(Pool.borrow_conn, "_litmos_locked", False):
        return
    borrow, give_back = Pool.borrow_conn, Pool.return_conn

    @functools.wraps(borrow)
    def borrow_conn(self: Any, *args: Any, **kwargs: Any) -> Any:
        database = self.credentials._conn_str() if self.credentials is not None else None
        acquire(database)
        try:
            conn = borrow(self, *args, **kwargs)
        except BaseException:
            release(database)
            raise
        self._litmos_locks = getattr(self, "_litmos_locks", 0) + 1
        return conn

    @functools.wraps(give_back)
    def return_conn(self: Any, borrowed_conn: Any) -> int:
        try:
            return give_back(self, borrowed_conn)
        finally:
            if getattr(self, "_litmos_locks", 0) > 0:
                self._litmos_locks -= 1
                release(self.credentials._conn_str())

    borrow_conn._litmos_locked = True  # type: ignore[attr-defined]
    Pool.borrow_conn, Pool.return_conn = borrow_conn, return_conn


__all__ = ["install", "turn", "keep_last_turns", "drop_kept", "database_of", "file_lock", "acquire", "release", "busy", "is_held", "lock_file",
           "kept_connection"]
