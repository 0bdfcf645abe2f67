"""How a failed run is told: `RunFailed` and the one line `describe_error` makes of any exception.

dlt and dbt wrap the errors that matter (PipelineStepFailed -> ResourceExtractionError -> ours), so the
chain is walked for the most specific message we wrote ourselves; the key is always redacted.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.config import ConfigError
from sources.litmos import exceptions as errors
from sources.litmos.exceptions import redact

if TYPE_CHECKING:
    from pipelines.runner import RunSummary


class RunFailed(RuntimeError):
    """A run failed; `str(exc)` is the one-line message for the user, `summary` what was done."""

    def __init__(self, message: str, summary: "RunSummary | None" = None, interrupted: bool = False,
                 usage: bool = False) -> None:
        super().__init__(message)
        self.summary = summary
        self.interrupted = interrupted
        self.usage = usage  # bad input the source found once it knew the server (exit 2, like ConfigError)


def describe_error(exc: BaseException, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """One line for the user: the Litmos/config error's own message if there is one in the chain.

    dlt wraps extraction errors (PipelineStepFailed -> ResourceExtractionError -> our error), so the
    chain is walked to find the most specific message we wrote ourselves.
    """
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


def _is_duckdb_interrupt(exc: BaseException) -> bool:
    """DuckDB turns a Ctrl-C/SIGTERM that lands inside a query into its own error ("Query interrupted")."""
    return type(exc).__name__ in ("InterruptException",) or str(exc).strip() == "Query interrupted"


def _is_usage_error(exc: BaseException) -> bool:
    """Bad input found once the server was known (a future date, a cursor ahead of its clock, a
    locked pipeline): exit 2 like the checks before any request."""
    return any(isinstance(e, (errors.LitmosConfigError, ConfigError)) for e in _chain(exc))


def _is_resumable(exc: BaseException) -> bool:
    """Failures a rerun of the same command resumes from the last committed batch (not a rejected key)."""
    resumable = (errors.LitmosConnectionError, errors.LitmosMalformedResponseError, errors.LitmosUnavailableError)
    return any(isinstance(e, resumable) for e in _chain(exc))


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (dlt's `.exception`, causes, contexts), outermost first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop(0)
        if not isinstance(cur, BaseException) or id(cur) in seen:
            continue
        seen.add(id(cur))
        chain.append(cur)
        todo.extend([getattr(cur, "exception", None), cur.__cause__, cur.__context__])
    return chain


def _is_ours(exc: BaseException) -> bool:
    """Errors whose message we wrote: one line that says what to fix."""
    from pipelines.dbt_runner import DbtRunError  # noqa: PLC0415

    return isinstance(exc, (ConfigError, RunFailed, DbtRunError, errors.LitmosError))


def is_usage_error(exc: BaseException) -> bool:
    """Bad input or configuration (exit 2): nothing of the run's data was at fault."""
    return _is_usage_error(exc)


__all__ = ["RunFailed", "describe_error", "is_usage_error"]
