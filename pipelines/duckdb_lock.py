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
from typing import Any, Iterator

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
    started = time.monotonic()
    logged = False
    pause = 0.01
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
        if not logged and waited >= _WAIT_LOG_S:
            log.info("waiting for %s: another run is writing this DuckDB file (one writer at a time)", path)
            logged = True
        time.sleep(pause)  # flock has no timeout of its own; poll with a growing pause
        pause = min(pause * 2, 0.2)


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


__all__ = ["install", "file_lock", "acquire", "release", "busy", "is_held", "lock_file"]
