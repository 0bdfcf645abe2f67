"""One run per pipeline at a time: an exclusive OS lock on a file in the state dir.

Two runs on one state dir corrupt each other: dlt's ``pipeline.run(data)`` first loads any normalized
package it finds in the pipeline's working dir (the other process's) and then returns *without
extracting* ``data``, so that run's batch is silently skipped while its next batch moves the cursors past
it (rows lost for good); or both load the same package (duplicates), or one deletes files the other is
copying (``BadCopyFileFormat`` on every later run). So ``litmos-sync run``, ``run_sync()`` and ``sync()``
hold :func:`pipeline_lock` for the whole run and a second run is refused with
:class:`PipelineLockedError` (one line, exit status 2; nothing was requested or changed).

The lock is ``fcntl.flock`` on ``<state_dir>/.<pipeline_name>.lock``: the kernel releases it when the
holder's process ends in any way (kill -9 included), so a stale lock of a dead process is simply taken
over. The file also holds the holder's pid, start time, destination and dataset, for the message; a file
left behind by a dead pid is overwritten. The key is the pipeline's working dir (state dir + pipeline
name), not the dataset: one working dir has one set of load packages, whichever dataset a run names.

Within one process the lock is re-entrant for the thread that holds it (``run_sync`` takes it, then
``sync`` takes it again); another thread of the same process is refused like another process.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from sources.litmos.exceptions import LitmosConfigError

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: only the pid file protects
    fcntl = None  # type: ignore[assignment]


class PipelineLockedError(LitmosConfigError):
    """Another run of the same pipeline (state dir + pipeline name) holds the lock.

    A usage error like any ``ConfigError``: the CLI prints its one line and exits with status 2.
    """

    def __init__(self, message: str, holder: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.holder = holder or {}


def lock_path(state_dir: str, pipeline_name: str = "litmos") -> str:
    """The lock file of a pipeline: ``<state_dir>/.<pipeline_name>.lock`` (absolute)."""
    return os.path.join(os.path.abspath(state_dir), f".{pipeline_name}.lock")


@dataclass
class _Held:
    fd: int
    thread: int
    depth: int
    created_dir: str | None = None  # the state dir this lock created (removed again if left empty)


# lock file path -> what this process holds (flock is per open file, so a second open in this process
# would conflict with our own first one)
_HELD: dict[str, _Held] = {}
_HELD_GUARD = threading.Lock()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def read_holder(path: str) -> dict[str, Any]:
    """What the lock file says about its holder (pid, since, destination, dataset); {} if unreadable."""
    for _ in range(5):  # the holder writes right after taking the lock: give it a moment
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read().strip()
        except OSError:
            return {}
        if text:
            try:
                data = json.loads(text)
                return data if isinstance(data, dict) else {}
            except ValueError:
                pass
        time.sleep(0.05)
    return {}


def _message(holder: dict[str, Any], state_dir: str, pipeline_name: str, lock_file: str) -> str:
    pid = holder.get("pid")
    since = holder.get("since") or "an unknown time"
    who = f"pid {pid} since {since}" if pid else f"pid unknown since {since}"
    target = ""
    if holder.get("destination") or holder.get("dataset"):
        target = f" into {holder.get('destination') or '?'} {holder.get('dataset') or '?'}"
    hint = "wait for it to finish or stop it, then rerun"
    if isinstance(pid, int) and not _pid_alive(pid):
        # flock is held, so a process still has the file open: a child the dead holder left behind
        hint = (f"pid {pid} has exited but a process it started still holds {lock_file} "
                f"(see `fuser {lock_file}`); stop it, then rerun")
    return (f"another run of this pipeline is in progress ({who}{target}; state dir {state_dir}, "
            f"pipeline {pipeline_name}); {hint}. Nothing was changed")


def _try_flock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
            # a file system without flock (some NFS mounts): fall back on the pid in the file
            log.warning("the file system of the state dir does not support locks; relying on the pid file")
            return True
        raise


def acquire(state_dir: str, pipeline_name: str = "litmos", *, destination: str | None = None,
            dataset: str | None = None) -> str:
    """Takes the pipeline's lock (re-entrant for this thread) and returns the lock file's path.

    Raises:
        PipelineLockedError: Another process, or another thread of this one, holds it.
    """
    path = lock_path(state_dir, pipeline_name)
    me = threading.get_ident()
    with _HELD_GUARD:
        held = _HELD.get(path)
        if held is not None:
            if held.thread == me:
                held.depth += 1
                return path
            holder = read_holder(path)
            raise PipelineLockedError(_message(holder, state_dir, pipeline_name, path), holder)
        directory = os.path.dirname(path)
        created_dir = None if os.path.isdir(directory) else directory
        os.makedirs(directory, exist_ok=True)
        fd = _open_locked(path, state_dir, pipeline_name)
        try:
            previous = _read_fd(fd)
            old_pid = previous.get("pid")
            if fcntl is None and isinstance(old_pid, int) and old_pid != os.getpid() and _pid_alive(old_pid):
                raise PipelineLockedError(_message(previous, state_dir, pipeline_name, path), previous)  # pragma: no cover
            if isinstance(old_pid, int) and old_pid != os.getpid():
                log.info("taking over the lock %s left by pid %s (no longer running)", path, old_pid)
            holder = {"pid": os.getpid(), "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                      "destination": destination, "dataset": dataset, "pipeline": pipeline_name}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        _HELD[path] = _Held(fd=fd, thread=me, depth=1, created_dir=created_dir)
        return path


def _open_locked(path: str, state_dir: str, pipeline_name: str) -> int:
    """Opens ``path`` and takes its flock; retries when the file was replaced meanwhile (a run that
    created the state dir removes it again, lock file included, when it leaves it empty)."""
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            if not _try_flock(fd):
                holder = read_holder(path)
                raise PipelineLockedError(_message(holder, state_dir, pipeline_name, path), holder)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd
        os.close(fd)  # locked a file that was unlinked meanwhile: lock the one at the path now
    raise PipelineLockedError(f"could not take the lock {path}: it keeps being replaced; is another run starting "
                              "and stopping in a loop? Nothing was changed")


def _read_fd(fd: int) -> dict[str, Any]:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        data = json.loads(text) if text else {}
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def release(path: str) -> None:
    """Releases one level of the lock taken by :func:`acquire` (the file stays, emptied)."""
    with _HELD_GUARD:
        held = _HELD.get(path)
        if held is None:
            return
        held.depth -= 1
        if held.depth > 0:
            return
        del _HELD[path]
        try:
            os.ftruncate(held.fd, 0)  # no holder any more (the file itself is harmless)
            if held.created_dir and os.listdir(held.created_dir) == [os.path.basename(path)]:
                # this run created the state dir and left nothing in it (e.g. a bad key): leave no trace
                os.unlink(path)
                os.rmdir(held.created_dir)
        except OSError:
            pass
        os.close(held.fd)  # closing the only descriptor releases the flock


def is_held(state_dir: str, pipeline_name: str = "litmos") -> bool:
    """Whether this process holds the pipeline's lock."""
    return lock_path(state_dir, pipeline_name) in _HELD


@contextlib.contextmanager
def pipeline_lock(state_dir: str, pipeline_name: str = "litmos", *, destination: Any = None,
                  dataset: str | None = None) -> Iterator[str]:
    """Holds the pipeline's exclusive lock for the ``with`` block; yields the lock file's path.

    Raises:
        PipelineLockedError: Another run of this pipeline is in progress (one line, exit status 2).
    """
    dest = destination if isinstance(destination, str) or destination is None else \
        getattr(destination, "destination_name", None) or type(destination).__name__
    path = acquire(state_dir, pipeline_name, destination=dest, dataset=dataset)
    try:
        yield path
    finally:
        release(path)


def holds_pipeline_lock(func: Any) -> Any:
    """Decorator for ``sync()``-like functions: the call holds :func:`pipeline_lock` for its
    ``state_dir``/``pipeline_name`` (and names its ``destination``/``dataset`` in the lock file), using the
    function's own defaults for arguments not given.

    A state dir created only for the lock is removed again when the call fails before using it (a bad
    key, the server unreachable), so a failed first run still leaves nothing behind.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        with pipeline_lock(a.get("state_dir") or "state", a.get("pipeline_name") or "litmos",
                           destination=a.get("destination"), dataset=a.get("dataset")):
            return func(*args, **kwargs)

    return wrapper


__all__ = ["PipelineLockedError", "pipeline_lock", "holds_pipeline_lock", "acquire", "release", "lock_path", "read_holder", "is_held"]
