"""Tenants sharing a DuckDB file: the one whose turn it is loads first, the others prepare with what CPU is left.

The file takes one load at a time (:mod:`pipelines.duckdb_lock`), and alike orgs reach their batch
boundaries together: every tenant then extracts and normalizes at the same moment, and on two cores the
process holding the file's turn got a twentieth of the CPU, so each load took 1-5 s instead of 0.3-0.7
and the other tenants queued behind it. In a tenant's process (:func:`enable`) a batch's extract and
normalize run on one thread at a lower CPU priority (nice +10; Linux gives each thread its own). The
loads, and the queries that close a run, stay on the main thread at the process's priority, as do the
DuckDB threads the main thread starts. Raising a thread's nice value needs no privilege; lowering it
would, which is why the two kinds of work live on different threads.
"""
from __future__ import annotations

import functools
import logging
import os
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

log = logging.getLogger("pipelines.sync.batches")

NICE = 10
_worker: "_Worker | None" = None


class _Worker:
    """One daemon thread that runs calls handed to it, one at a time (a daemon: a Ctrl-C in the main
    thread ends the process without waiting for an extract the session's close is already ending)."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="litmos-prepare", daemon=True).start()

    def _serve(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        except (AttributeError, OSError) as exc:  # not Linux: the same work, at the same priority
            log.debug("prepare thread keeps its priority (%s)", exc)
        while True:
            fn, args, future = self._calls.get()
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller as raised
                future.set_exception(exc)
            # Idle, the thread holds nothing: no pipeline (and DuckDB objects) kept alive past the run.
            fn = args = future = None

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        future: Future = Future()
        self._calls.put((fn, args, future))
        return future.result()


def enable() -> None:
    """Runs this process's batch preparation (:func:`prepared`) at the lower priority from now on."""
    global _worker
    if _worker is None:
        _worker = _Worker()


def prepared(step: Callable[..., Any]) -> Callable[..., Any]:
    """``step`` (dlt's extract or normalize) as run by the preparing thread when enabled, else itself;
    the name stays, so the caller still knows which step it runs."""
    if _worker is None:
        return step

    @functools.wraps(step)
    def run(*args: Any) -> Any:
        return _worker.call(step, *args)  # type: ignore[union-attr]

    return run
