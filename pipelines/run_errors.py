"""How a failed run is told: `RunFailed`, the one line `describe_error` makes of any exception, the exit
codes and the CLI's `litmos-sync: error: ...` line (`fail`).

dlt and dbt wrap the errors that matter (PipelineStepFailed -> ResourceExtractionError -> ours), so the
chain is walked for the most specific message we wrote ourselves; the key is always redacted.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from pipelines.config import ConfigError
from sources.litmos import exceptions as errors
from sources.litmos.exceptions import redact

PROG = "litmos-sync"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141


class RunFailed(RuntimeError):
    """A run failed; `str(exc)` is the one-line message for the user, `summary` (a RunSummary) what was done."""

    def __init__(self, message: str, summary: Any = None, interrupted: bool = False, usage: bool = False) -> None:
        super().__init__(message)
        self.summary = summary
        self.interrupted = interrupted
        self.usage = usage  # bad input the source found once it knew the server (exit 2, like ConfigError)


def describe_error(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """One line for the user: the Litmos/config error's own message if there is one in the chain."""
    chain = _chain(exc)
    ours = [e for e in chain if _is_ours(e)]
    if not ours:  # the warehouse's own failures (locked file, server gone, no privilege) have known fixes
        from pipelines.warehouse import describe_warehouse_exception  # noqa: PLC0415

        known = next((m for m in map(describe_warehouse_exception, chain) if m), None)
        if known:
            return redact(known, secrets)
    # Unexpected errors: the innermost cause is the real one (dlt's wrappers only add context).
    chosen = ours[0] if ours else chain[-1]
    text = (str(chosen).strip().splitlines() or [""])[0].strip()
    if not ours:
        text = f"{type(chosen).__name__}: {text}" if text else type(chosen).__name__
        text += " (unexpected; rerun with LITMOS_SYNC_DEBUG=1 to see the traceback, and report it)"
    return redact(text, secrets)


def is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C/SIGTERM, also when dlt wrapped it or DuckDB turned it into "Query interrupted"."""
    return any(isinstance(e, KeyboardInterrupt) or type(e).__name__ == "InterruptException"
               or str(e).strip() == "Query interrupted" for e in _chain(exc))


def is_usage_error(exc: BaseException) -> bool:
    """Bad input or configuration (exit 2), also when found once the server was known."""
    return any(isinstance(e, (errors.LitmosConfigError, ConfigError)) for e in _chain(exc))


def is_resumable(exc: BaseException) -> bool:
    """Failures a rerun of the same command resumes from the last committed batch (not a rejected key)."""
    resumable = (errors.LitmosConnectionError, errors.LitmosMalformedResponseError, errors.LitmosUnavailableError)
    return any(isinstance(e, resumable) for e in _chain(exc))


def fail(message: str, secrets: Sequence[str], code: int) -> int:
    """Writes `litmos-sync: error: <message>` (one line, redacted) to stderr; returns `code`."""
    line = " ".join(redact(message, secrets).split())
    sys.stderr.write(f"{PROG}: error: {line}\n")
    sys.stderr.flush()
    return code


_interrupted = False  # a KeyboardInterrupt Python dropped under `interrupts()`, not raised again yet


@contextmanager
def interrupts() -> Iterator[None]:
    """SIGTERM (docker stop, Airflow/k8s kill) raises KeyboardInterrupt like Ctrl-C, so the run history
    records it; and a Ctrl-C or SIGTERM is never lost.

    Python runs a signal's handler in whatever code the main thread is in. When that is a finaliser (a
    ``__del__`` the garbage collector runs, a weakref callback), Python drops the KeyboardInterrupt with
    "Exception ignored in" and the run goes on to exit 0. Under this block such a drop is remembered;
    :func:`raise_if_interrupted` raises it again at the next batch and at the end of the load, and leaving
    the block normally does too."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    global _interrupted
    on_main = threading.current_thread() is threading.main_thread()  # signals only work there
    previous_handler = signal.signal(signal.SIGTERM, _raise_interrupt) if on_main else None
    previous_hook = sys.unraisablehook

    def dropped(unraisable: Any) -> None:
        global _interrupted
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            _interrupted = True  # said once, by raise_if_interrupted, not as an "Exception ignored" trace
        else:
            previous_hook(unraisable)

    sys.unraisablehook = dropped
    _interrupted = False
    try:
        yield
        raise_if_interrupted()
    finally:
        sys.unraisablehook = previous_hook
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
        _interrupted = False


def raise_if_interrupted() -> None:
    """Raises the KeyboardInterrupt Python dropped in a finaliser under :func:`interrupts`, once."""
    global _interrupted
    if _interrupted:
        _interrupted = False
        raise KeyboardInterrupt


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (dlt's `.exception`, causes, contexts), outermost first."""
    chain: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        cur = todo.pop(0)
        if isinstance(cur, BaseException) and all(cur is not e for e in chain):
            chain.append(cur)
            todo.extend([getattr(cur, "exception", None), cur.__cause__, cur.__context__])
    return chain


def _is_ours(exc: BaseException) -> bool:
    from pipelines.dbt_runner import DbtRunError  # noqa: PLC0415

    return isinstance(exc, (ConfigError, RunFailed, DbtRunError, errors.LitmosError))
