"""Runs a source session into the warehouse in committed batches, fetching the next batch while one loads.

Each batch is extracted and normalized as soon as its pages arrive, then loaded with the packages
before it that are still waiting: each package commits its batch's rows and the cursors it moves
together, so a run killed at any point resumes from its last committed batch (the pending packages
are loaded first, ``state_hygiene.finish_pending``; ``verify_committed`` checks every load). Into a
DuckDB file other processes load too, a batch waits for its turn on the file's lock
(:func:`pipelines.duckdb_lock.turn`) while the next batch is still being fetched, then is deferred and
loaded with the next one at its turn (deferred to the run's end, a load would come after the last
request). The last batch waits as long as it takes and, in a tenant's process, keeps its turn for the
queries that close the run.
:class:`Runs` keeps what the run's summary needs across its sessions (the nightly one and the history
walk's passes).
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from datetime import datetime
from typing import Any, Callable, Iterator

import dlt
from dlt.common.runtime import signals
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines import duckdb_lock
from pipelines.load_priority import prepared
from pipelines.run_errors import raise_if_interrupted
from pipelines.state_hygiene import prune_loaded_packages, source_state, verify_committed
from sources.litmos import batch_source, cursors_from_state
from sources.litmos.events import BatchCommitted
from sources.litmos.exceptions import LitmosError
from sources.litmos.stats import ResourceStats

log = logging.getLogger("pipelines.sync.batches")  # under the sync's logger: one logger shows the run


def serialised(on_event: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
    """Wraps the user's callback so it is never called from two threads at once nor breaks a run."""
    if on_event is None:
        return None
    lock = threading.Lock()

    def emit(event: Any) -> None:
        with lock:
            try:
                on_event(event)
            except Exception:  # a progress bar must never break the sync
                log.exception("on_event handler failed for %r", type(event).__name__)

    return emit


def _unwrap(exc: BaseException) -> LitmosError | None:
    """Finds the LitmosError dlt wrapped (PipelineStepFailed -> ResourceExtractionError -> ours)."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, LitmosError):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "exception", None)])
    return None


def _step(step: Callable[..., Any], *args: Any) -> Any:
    """One dlt pipeline step; an error of ours that dlt wrapped is raised as itself (its one-line message).

    dlt's normalize and load defer SIGINT/SIGTERM to drain their pools, then forget a signal their step
    did not act on. Our own interception around the step (dlt's nested one is then a no-op) keeps it, so
    a signal during any step ends the run as KeyboardInterrupt (exit 130), never silently goes on. The
    extract step is intercepted too and stops at its next item (dlt checks the flag per item): a
    KeyboardInterrupt raised at once could land in an import or a lock the fetching threads share and
    leave the run hanging (seen: a SIGTERM during extraction, a worker stuck on a module lock for ever).
    A second signal of the same kind interrupts at once (dlt's escalation). A signal whose
    KeyboardInterrupt Python dropped (it landed in a finaliser) is raised before the step and after it."""
    raise_if_interrupted()
    with _deferred_signals():
        try:
            done = step(*args)
        except PipelineStepFailed as exc:
            if signals.was_signal_received():
                raise KeyboardInterrupt from None
            inner = _unwrap(exc)
            if inner is not None:
                raise type(inner)(str(inner)) from None
            raise
    raise_if_interrupted()
    return done


@contextlib.contextmanager
def _deferred_signals() -> Iterator[None]:
    """dlt's signal interception around a step (dlt's own, nested in the step, is then a no-op), except that
    a signal is never forgotten: dlt's exit clears the flag its handler set, so a signal landing after a
    check of the flag and before that exit was lost (the run went on and exited 0). Here the handlers are
    put back first (a later signal raises at once), then the flag is read, and a signal raises
    KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is signals._signal_receiver:  # noqa: SLF001 - nested
        yield
        return
    originals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signals._original_handlers.update(originals)  # noqa: SLF001 - what dlt's second signal escalates to
    received = False
    try:
        for sig in originals:
            signal.signal(sig, signals._signal_receiver)  # noqa: SLF001
        yield
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)
        received = signals.was_signal_received()
        signals._clear_signals()  # noqa: SLF001
    if received:
        raise KeyboardInterrupt


class Runs:
    """Runs sessions in committed batches and keeps what the run's summary needs across them."""

    def __init__(self, client: Any, tables: list[str]) -> None:
        self.client = client
        self.tables = tables
        self.stats = client.stats  # the run's one RunStats: every session counts into it
        self.cursors_before: dict[str, datetime | None] = {}
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.history_summary: str | None = None
        self.rejected: list[Any] = []  # records quarantined in _litmos_rejects
        self.history_estimate = 0  # requests the walk's passes said they would make
        self.history_requests = 0  # requests they made
        self._walk_started: tuple[float, int] | None = None
        self._sessions = 0

    def run(self, pipeline: dlt.Pipeline, session: Any, emit: Any) -> None:
        """Fetches and commits every batch of ``session``; batch ``i + 1`` is fetched while ``i`` loads (or
        waits for its turn on the DuckDB file)."""
        for table, before in session.cursors_before.items():
            self.cursors_before.setdefault(table, before)
        if not self._sessions:
            self.skipped = list(session.skipped)
        self._sessions += 1
        database = duckdb_lock.database_of(pipeline.destination)
        duckdb_lock.drop_kept()  # a turn kept from the last session is not held through HTTP
        waiting: list[int] = []  # batches extracted and normalized, not loaded yet
        try:
            self._batches(pipeline, session, emit, database, waiting)
        except Exception:
            session.close(cancel=True)
            if waiting:  # loaded still, as they would have been had the file been free
                self._salvage(pipeline, session, waiting, emit, database)
            raise
        except BaseException:  # Ctrl-C/SIGTERM: stop now; the rerun loads what is pending first
            session.close(cancel=True)
            raise
        else:
            session.close()
        finally:
            self.rejected.extend(session.rejected)

    def _batches(self, pipeline: dlt.Pipeline, session: Any, emit: Any, database: str | None,
                 waiting: list[int]) -> None:
        pending = session.submit(0)
        for index in range(session.batches_total):
            work = pending
            if index + 1 < session.batches_total:
                pending = session.submit(index + 1)
            _step(prepared(pipeline.extract), batch_source(session, work))
            _step(prepared(pipeline.normalize))
            waiting.append(index)
            last = index + 1 == session.batches_total
            # Wait for the turn while the next batch is still fetched (the wait then costs no request);
            # once it has all it can fetch before it is read, defer to the next batch's turn.
            with duckdb_lock.turn(database, wait=True if last else session.fetching, keep=last) as ours:
                if ours:
                    batches = waiting[:]
                    waiting.clear()  # a load that fails is not tried again by _salvage
                    self._commit(pipeline, session, batches, emit)

    def _salvage(self, pipeline: dlt.Pipeline, session: Any, waiting: list[int], emit: Any,
                 database: str | None) -> None:
        try:
            with duckdb_lock.turn(database):
                self._commit(pipeline, session, waiting, emit)
        except Exception as exc:  # noqa: BLE001 - the batch's own error is the one to report
            log.warning("the %d batch(es) fetched before the failure were not loaded (%s); the rerun loads them "
                        "first", len(waiting), str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def _commit(self, pipeline: dlt.Pipeline, session: Any, batches: list[int], emit: Any) -> None:
        """Loads the waiting packages of ``batches`` (one each, in order) and checks they committed."""
        total = session.batches_total
        label = f"batch {batches[0] + 1}" if len(batches) == 1 else f"batches {batches[0] + 1}-{batches[-1] + 1}"
        _step(pipeline.load)
        verify_committed(pipeline, batch=f"{label} of {total}", run_step=False)
        prune_loaded_packages(pipeline)  # load/loaded/ keeps the newest 2 packages' metadata
        if len(batches) > 1:
            log.debug("%s of %s loaded at one turn on the DuckDB file", label, total)
        for index in batches:
            if emit:
                committed = cursors_from_state(source_state(pipeline))
                emit(BatchCommitted(index, total, self.stats.total("rows"),
                                    {t: committed.get(t) for t in self.tables}))
            if session.history_mode:
                self._history_progress(session, index)

    def announce_history(self, session: Any, bound: datetime) -> None:
        """Says what the history walk will cost before it starts (requests, and time at the budget)."""
        requests = sum(map(sum, (session.expected_pages.get(t, []) for t in session.windows)))
        rate = getattr(self.client.limiter, "rate", 0.0) or 0.0
        at = (f"~{_minutes(requests / rate)} at {rate * 60:.0f}/min" if rate > 0 else "no rate limit")
        oldest = min((w[-1].since for w in session.windows.values() if w), default=bound)
        log.info("history: ~%s requests back to %s, %s", f"{requests:,}", f"{oldest:%Y-%m-%d}", at)
        self.history_estimate += requests
        if self._walk_started is None:
            self._walk_started = (time.monotonic(), self.requests_total)

    @property
    def requests_total(self) -> int:
        return self.stats.requests_total

    def _history_progress(self, session: Any, index: int) -> None:
        """One line per committed batch of the walk: how far back, what is left, and when it ends at
        the pace measured so far."""
        began, base = self._walk_started or (time.monotonic(), self.requests_total)
        done = self.requests_total - base
        left = max(0, self.history_estimate - done)
        reached = min((w[min(len(w), (index + 1) * session.per_batch) - 1].since
                       for w in session.windows.values() if w), default=None)
        pace = done / max(time.monotonic() - began, 1e-6)
        eta = f", ETA ~{_minutes(left / pace)}" if pace > 0 and left else ""
        log.info("history: batch %d/%d committed, back to %s; ~%s requests left%s", index + 1,
                 session.batches_total, f"{reached:%Y-%m-%d}" if reached else "?", f"{left:,}", eta)

    def resource_stats(self, table: str, cursor_after: datetime | None) -> ResourceStats:
        """``table``'s stats for the run's result: the run's counts and its cursors before and after."""
        stats = self.stats[table]
        stats.cursor_before, stats.cursor_after = self.cursors_before.get(table), cursor_after
        stats.skipped = table in self.skipped
        return stats


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


__all__ = ["Runs", "source_state", "serialised"]
