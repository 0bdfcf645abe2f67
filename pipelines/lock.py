"""One run per pipeline at a time: an exclusive ``flock`` on ``<state_dir>/.<pipeline_name>.lock``.

Two runs on one pipeline working dir corrupt each other (dlt loads the other's pending package and skips
its own batch, or both load it), so `run_sync` and `sync` hold :func:`pipeline_lock` and a second run is
refused with :class:`PipelineLockedError` (exit 2). The kernel drops the lock with its process (kill -9
too); the file names the holder for the message. Re-entrant for the holding thread only.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import inspect
import json
import logging
import os
import threading
import time
from datetime import datetime, timezone
from typing import Any, Iterator

from sources.litmos.exceptions import LitmosConfigError

log = logging.getLogger(__name__)



class PipelineLockedError(LitmosConfigError):
    """Another run of the same pipeline (state dir + pipeline name) holds the lock; `holder` says who."""

    def __init__(self, message: str, holder: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.holder = holder or {}


# lock file -> [fd, thread, depth, state dir created for the lock]: flock is per open file, so this
# process must not open a file it holds a second time.
_HELD: dict[str, list[Any]] = {}
_GUARD = threading.Lock()


def lock_path(state_dir: str, pipeline_name: str = "litmos") -> str:
    """The lock file of a pipeline: ``<state_dir>/.<pipeline_name>.lock`` (absolute)."""
    return os.path.join(os.path.abspath(state_dir), f".{pipeline_name}.lock")


def read_holder(path: str) -> dict[str, Any]:
    """What the lock file says about its holder (pid, since, destination, dataset); {} if nothing."""
    for _ in range(5):  # the holder writes right after taking the lock: give it a moment
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.loads(fh.read())
            return data if isinstance(data, dict) else {}
        except OSError:
            return {}
        except ValueError:  # empty or half written
            time.sleep(0.05)
    return {}


def acquire(state_dir: str, pipeline_name: str = "litmos", *, destination: str | None = None,
            dataset: str | None = None) -> str:
    """Takes the pipeline's lock (re-entrant for this thread); returns the lock file's path.

    Raises:
        PipelineLockedError: Another process, or another thread of this one, holds it.
    """
    path = lock_path(state_dir, pipeline_name)
    with _GUARD:
        held = _HELD.get(path)
        if held is not None and held[1] == threading.get_ident():
            held[2] += 1
            return path
        if held is not None:
            raise _locked(state_dir, pipeline_name, path)
        directory = os.path.dirname(path)
        created = None if os.path.isdir(directory) else directory
        os.makedirs(directory, exist_ok=True)
        fd = _open_locked(path, state_dir, pipeline_name)
        holder = {"pid": os.getpid(), "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                  "destination": destination, "dataset": dataset, "pipeline": pipeline_name}
        os.ftruncate(fd, 0)  # a dead holder's pid is simply overwritten
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        _HELD[path] = [fd, threading.get_ident(), 1, created]
        return path


def release(path: str) -> None:
    """Releases one level of the lock taken by :func:`acquire` (the file stays, emptied)."""
    with _GUARD:
        held = _HELD.get(path)
        if held is None:
            return
        held[2] -= 1
        if held[2] > 0:
            return
        fd, _, _, created = _HELD.pop(path)
        try:
            os.ftruncate(fd, 0)
            if created and os.listdir(created) == [os.path.basename(path)]:
                os.unlink(path)  # a state dir made for a run that left nothing in it (a bad key): no trace
                os.rmdir(created)
        except OSError:
            pass
        os.close(fd)  # closing the only descriptor releases the flock


def is_held(state_dir: str, pipeline_name: str = "litmos") -> bool:
    """Whether this process holds the pipeline's lock."""
    return lock_path(state_dir, pipeline_name) in _HELD


@contextlib.contextmanager
def pipeline_lock(state_dir: str, pipeline_name: str = "litmos", *, destination: Any = None,
                  dataset: str | None = None) -> Iterator[str]:
    """Holds the pipeline's lock for the ``with`` block; yields the lock file's path.

    Raises:
        PipelineLockedError: Another run of this pipeline is in progress.
    """
    if not isinstance(destination, (str, type(None))):  # a dlt destination object
        destination = getattr(destination, "destination_name", None) or type(destination).__name__
    path = acquire(state_dir, pipeline_name, destination=destination, dataset=dataset)
    try:
        yield path
    finally:
        release(path)


def holds_pipeline_lock(func: Any) -> Any:
    """Decorator for ``sync()``-like functions: the call holds :func:`pipeline_lock` of its ``state_dir``,
    ``pipeline_name``, ``destination`` and ``dataset`` arguments (the function's defaults if not given)."""
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


def _open_locked(path: str, state_dir: str, pipeline_name: str) -> int:
    """Opens ``path`` and takes its flock, again if the file was replaced meanwhile (a run that created
    the state dir removes it, lock file included, when it leaves it empty)."""
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if not _try_flock(fd):
                raise _locked(state_dir, pipeline_name, path)
            same = os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd
        os.close(fd)
    raise PipelineLockedError(f"could not take the lock {path}: it keeps being replaced; is another run starting "
                              "and stopping in a loop? Nothing was changed")


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP):  # some NFS mounts
            log.warning("the file system of the state dir does not support locks; relying on the pid file")
            return True
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    return True


def _locked(state_dir: str, pipeline_name: str, path: str) -> PipelineLockedError:
    holder = read_holder(path)
    pid = holder.get("pid")
    target = ""
    if holder.get("destination") or holder.get("dataset"):
        target = f" into {holder.get('destination') or '?'} {holder.get('dataset') or '?'}"
    hint = "wait for it to finish or stop it, then rerun"
    if isinstance(pid, int) and pid > 0 and not _pid_alive(pid):  # flock still held: by a child the holder left behind
        hint = (f"pid {pid} has exited but a process it started still holds {path} (see `fuser {path}`); stop it, "
                "then rerun")
    since = holder.get("since") or "an unknown time"
    return PipelineLockedError(f"another run of this pipeline is in progress (pid {pid or 'unknown'} since {since}"
                               f"{target}; state dir {state_dir}, pipeline {pipeline_name}); {hint}. Nothing was "
                               "changed", holder)
