"""Many tenants in one run: one child process per tenant, at most ``parallel`` at once, then dbt once.

Each child runs :func:`pipelines.runner.load` for its tenant under that tenant's pipeline lock (own
pipeline, state, cursors, rate budget and dataset) and sends the summary back. The parent then builds
the marts once over every configured tenant whose dataset exists and records each tenant's run in its
own ``_litmos_sync_runs`` with the dbt outcome (without dbt each child records its own, in parallel). A
failing tenant (bad key, host down) fails alone.

Processes, not threads: a tenant's failure, memory or hang cannot reach another's; dlt's pipeline
context, dbt's globals and the signal handling assume one pipeline per process. Children are forked by
a ``forkserver`` that imported the sync's modules once (:data:`PRELOAD`; nothing of the parent's
threads or open connections is inherited, and 20 children do not import dlt 20 times on 2 cores; they
take the parent's environment as ``spawn`` would) and die with the forkserver, which dies with the
parent (``PR_SET_PDEATHSIG``), so a kill -9 of the run leaves no process holding a lock. DuckDB's one
writer per file is :mod:`pipelines.duckdb_lock` (docs/architecture.md, "Many orgs").
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, Sequence

from pipelines import run_errors, runner
from pipelines.run_errors import describe_error, is_usage_error

log = logging.getLogger("litmos_sync")
DEFAULT_PARALLEL = 4
_PR_SET_PDEATHSIG = 1
# Imported once by the forkserver, not by each child: what a tenant's run imports (a second or more of
# CPU each; the loaders dlt imports lazily included).
PRELOAD = ["pipelines.runner", "pipelines.sync", "pipelines.lock", "pipelines.progress", "pipelines.logging_setup",
           "pipelines.process_memory", "pipelines.run_history", "duckdb", "dlt.normalize", "dlt.load",
           "dlt.destinations.impl.duckdb.factory", "dlt.destinations.impl.postgres.factory"]
_STOP_GRACE_S = 60.0


@dataclass
class TenantOutcome:
    """How one tenant's run ended: its summary (None when it never started) and its one-line error."""

    tenant: str
    dataset: str
    summary: runner.RunSummary | None = None
    error: str | None = None
    usage: bool = False
    interrupted: bool = False
    recorded: bool = False  # its run history was written by its own process (no marts build follows)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class FleetResult:
    """A many-tenant run: one outcome per tenant (in the order given) and the marts build."""

    outcomes: list[TenantOutcome] = field(default_factory=list)
    dbt_status: str = "skipped"
    dbt_error: str | None = None
    marts_tenants: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[TenantOutcome]:
        return [o for o in self.outcomes if not o.ok]


def tenant_options(tenant: Any, configured: Sequence[Any], dataset: str = "litmos_raw",
                   **prepare_kwargs: Any) -> runner.RunOptions:
    """The validated `RunOptions` of one tenant (what `litmos-sync run --tenant <name>` runs; also for
    orchestrators calling `runner.run_sync(options=...)` per tenant).

    Args:
        tenant: A `pipelines.tenants.Tenant`.
        configured: Every configured tenant (`tenants.load_tenants()`): the marts union those whose
            dataset exists.
        dataset: The base raw dataset; the tenant's is `config.tenant_dataset(dataset, tenant.name)`.
        **prepare_kwargs: `runner.prepare`'s other arguments (destination, state_dir, resources...).

    Raises:
        ConfigError: Bad input (before any request).
    """
    from pipelines.tenants import check_dataset, many  # noqa: PLC0415

    check_dataset(tenant.dataset(dataset), tenant.name)
    opts = runner.prepare(**prepare_kwargs, dataset=tenant.dataset(dataset), pipeline_name=tenant.pipeline_name,
                          api_key=tenant.api_key, base_url=tenant.base_url, source_name=tenant.source)
    marts = [(t.name, t.dataset(dataset)) for t in configured] if many(configured) else None
    return dataclasses.replace(opts, tenant=tenant.name, base_dataset=dataset, marts_tenants=marts)


def default_parallel(tenants: int) -> int:
    """``--parallel`` when not given: one process per tenant, at most 4 (2 cores run 20 orgs' HTTP
    waits easily; the loads take turns on DuckDB anyway)."""
    return max(1, min(tenants, DEFAULT_PARALLEL))


def run_fleet(runs: Sequence[runner.RunOptions], parallel: int, *, log_format: str = "text",
              quiet: bool = False, run_dbt: bool = True) -> FleetResult:
    """Runs every tenant's options in its own process, then the marts once, then the histories.

    Args:
        runs: One validated `RunOptions` per tenant (`runner.prepare`), each with its `marts_tenants`.
        parallel: Processes at once (>= 1).
        log_format: The children's log format (`text` lines carry `tenant=<name>`).
        quiet: Children print only errors.
        run_dbt: Build the marts after the loads (when at least one tenant loaded).

    Returns:
        The outcomes; the caller turns failures into the exit status.
    """
    result = FleetResult(outcomes=[TenantOutcome(o.tenant, o.dataset) for o in runs])
    outcomes = {o.tenant: o for o in result.outcomes}
    interrupted = False
    try:
        _run_children(runs, parallel, outcomes, log_format, quiet, run_dbt)
    except KeyboardInterrupt:
        interrupted = True
    if run_dbt and not interrupted and any(o.ok for o in result.outcomes):
        first = runs[0]
        result.marts_tenants = runner.existing_tenants(first)
        result.dbt_status, result.dbt_error = runner.build_marts_once(first)
    for opts in runs:
        _record(opts, outcomes[opts.tenant], result.dbt_status if outcomes[opts.tenant].ok else "skipped",
                result.dbt_error)
    if interrupted:
        raise KeyboardInterrupt
    return result


def _record(opts: runner.RunOptions, outcome: TenantOutcome, dbt_status: str, dbt_error: str | None) -> None:
    """Writes the tenant's history rows with the dbt outcome (under its pipeline lock: its history
    pipeline lives in the state dir), unless its own process did (no dbt build to wait for)."""
    from pipelines.lock import PipelineLockedError, pipeline_lock  # noqa: PLC0415

    if outcome.summary is None or outcome.recorded:
        return
    try:
        with pipeline_lock(opts.state_dir, opts.pipeline_name, destination=opts.destination, dataset=opts.dataset):
            runner.finish(outcome.summary, opts, dbt_status, dbt_error if outcome.ok else None)
    except runner.RunFailed as exc:
        outcome.error = outcome.error or str(exc)
    except PipelineLockedError as exc:
        log.warning("tenant %s: run history not written: %s", opts.tenant, exc)


def _run_children(runs: Sequence[runner.RunOptions], parallel: int, outcomes: dict[str, TenantOutcome],
                  log_format: str, quiet: bool, run_dbt: bool) -> None:
    ctx, server = _context()
    todo = list(runs)
    running: dict[Any, tuple[runner.RunOptions, Any, Any]] = {}  # sentinel -> (opts, process, conn)
    reading: set[Any] = set()  # the pipes of children that have not reported yet
    try:
        while todo or running:
            while todo and len(running) < max(1, parallel):
                opts = todo.pop(0)
                receive, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, name=f"litmos-sync:{opts.tenant}", daemon=False,
                                   args=(opts, send, log_format, quiet, server, run_dbt, _Inherited()))
                proc.start()
                send.close()  # the child's end: EOF here when the child is gone
                running[proc.sentinel] = (opts, proc, receive)
                reading.add(receive)
                log.info("tenant %s: started (pid %s) -> %s", opts.tenant, proc.pid, opts.dataset)
            ready = wait([*running, *reading])
            for sentinel, (opts, proc, conn) in list(running.items()):
                if conn in ready or sentinel in ready:
                    if _collect(opts, proc, conn, outcomes[opts.tenant]):
                        reading.discard(conn)
                    if sentinel in ready:
                        proc.join()
                        _collect(opts, proc, conn, outcomes[opts.tenant])
                        reading.discard(conn)
                        conn.close()
                        del running[sentinel]
    except KeyboardInterrupt:
        _stop(running, outcomes)
        raise
    finally:
        if server != os.getpid():  # the forkserver ends with its children: waited for, its CPU is the run's
            from multiprocessing import forkserver  # noqa: PLC0415

            forkserver._forkserver._stop()  # noqa: SLF001


def _collect(opts: runner.RunOptions, proc: Any, conn: Any, outcome: TenantOutcome) -> bool:
    """Reads the child's report if it sent one; a child that died without one failed with its signal.
    Returns whether the pipe is done (report read or closed)."""
    done = False
    try:
        while not conn.closed and conn.poll():
            kind, payload = conn.recv()
            done = True
            if kind == "summary":
                outcome.summary, outcome.recorded = payload
                outcome.error, outcome.usage = outcome.summary.error, outcome.summary.usage
                outcome.interrupted = outcome.summary.interrupted
            else:
                outcome.error, outcome.usage = payload
    except (EOFError, OSError):
        done = True
    if outcome.summary is None and outcome.error is None and not proc.is_alive():
        code = proc.exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        outcome.error = (f"its process ended ({how}) before reporting; rerun `{opts.command}` to resume "
                         "from the last committed batch")
    return done


def _stop(running: dict[Any, tuple[runner.RunOptions, Any, Any]], outcomes: dict[str, TenantOutcome]) -> None:
    """Ctrl-C/SIGTERM: each child stops as an interrupted run and reports; then they are gone."""
    for _, proc, _ in running.values():
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGTERM)
    for opts, proc, conn in running.values():
        proc.join(_STOP_GRACE_S)
        if proc.is_alive():
            proc.kill()
            proc.join()
        _collect(opts, proc, conn, outcomes[opts.tenant])
        outcomes[opts.tenant].interrupted = True


class _Inherited:
    """What a spawned child inherits from this process at its start and a forkserver's child would take
    from the forkserver instead: the environment (dlt reads its settings there) and stdout/stderr (the
    children's log lines go where the run's go, e.g. a test's captured fds)."""

    def __init__(self) -> None:
        self.environ = dict(os.environ)

    def __reduce__(self) -> Any:
        from multiprocessing.reduction import DupFd  # noqa: PLC0415 - sends the fds along (SCM_RIGHTS)

        return (_inherited, (self.environ, DupFd(1), DupFd(2)))

    def apply(self) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        for target, fd in getattr(self, "fds", {}).items():
            os.dup2(fd, target)
            os.close(fd)


def _inherited(environ: dict[str, str], out: Any, err: Any) -> _Inherited:
    got = _Inherited.__new__(_Inherited)
    got.environ, got.fds = environ, {1: out.detach(), 2: err.detach()}
    return got


def _context() -> tuple[Any, int]:
    """The children's start method and the pid of the process that forks them (their parent):
    ``forkserver`` with :data:`PRELOAD` imported once, else ``spawn`` (from this process)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not Linux
        return multiprocessing.get_context("spawn"), os.getpid()
    from multiprocessing import forkserver  # noqa: PLC0415

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()
    return ctx, forkserver._forkserver._forkserver_pid  # noqa: SLF001 - its children's parent


def _die_with_parent(parent_pid: int) -> None:
    """The kernel kills this process when its parent (the forkserver, which ends with the run) dies
    (Linux), so no orphan keeps a lock."""
    try:
        import ctypes  # noqa: PLC0415

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the pipe's EOF is the only sign
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    from multiprocessing import forkserver  # noqa: PLC0415

    # A forkserver's child holds the run's end of the forkserver's "alive" pipe, so the forkserver (our
    # parent) would outlive a killed run as long as its children do: only the run may hold it.
    alive = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)  # noqa: SLF001
    if alive is not None:
        os.close(alive)
        forkserver._forkserver._forkserver_alive_fd = None  # noqa: SLF001


def _child(opts: runner.RunOptions, conn: Any, log_format: str, quiet: bool, parent_pid: int,
           run_dbt: bool = True, inherited: _Inherited | None = None) -> None:
    """One tenant's run in its own process: load under its pipeline lock, report the summary. Without a
    marts build to follow (``run_dbt`` False) it also writes its run history, in parallel with the other
    tenants rather than one after another in the parent once all are done."""
    _die_with_parent(parent_pid)
    if inherited is not None:
        inherited.apply()
    from pipelines.process_memory import tune_process_memory  # noqa: PLC0415

    tune_process_memory()
    try:
        with run_errors.interrupts():  # SIGTERM from the parent (_stop) ends the tenant like Ctrl-C
            summary, recorded = _child_run(opts, log_format, quiet, run_dbt)
        conn.send(("summary", (summary, recorded)))
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - reported, never a traceback
        if isinstance(exc, KeyboardInterrupt):
            message = f"interrupted; rerun `{opts.command}` to resume from the last committed batch"
        else:
            message = describe_error(exc, opts.secrets)
        conn.send(("error", (message, is_usage_error(exc))))
    finally:
        conn.close()


def _child_run(opts: runner.RunOptions, log_format: str, quiet: bool, run_dbt: bool
               ) -> tuple[runner.RunSummary, bool]:
    """The tenant's load (and its history when no dbt build follows); the summary and whether it recorded."""
    from pipelines import duckdb_lock  # noqa: PLC0415
    from pipelines.lock import pipeline_lock  # noqa: PLC0415

    progress = _child_logging(opts, log_format, quiet)
    # The run's last load keeps the DuckDB file through its closing queries: one wait in the other
    # tenants' queue at the end, not one per query (pipelines.duckdb_lock.turn).
    duckdb_lock.keep_last_turns()
    if opts.destination == "duckdb":
        from pipelines import load_priority  # noqa: PLC0415

        load_priority.enable()
    try:
        with pipeline_lock(opts.state_dir, opts.pipeline_name, destination=opts.destination,
                           dataset=opts.dataset):
            summary = runner.load(opts, progress)
            recorded = not run_dbt and _finish(summary, opts)  # in the kept last turn: one INSERT
    finally:
        duckdb_lock.drop_kept()
        progress.close()
    return summary, recorded


def _finish(summary: runner.RunSummary, opts: runner.RunOptions) -> bool:
    """Writes the history of a run no dbt build follows (a failed run's too: ``summary.error`` says why)."""
    try:
        runner.finish(summary, opts, "skipped")
    except runner.RunFailed:
        pass
    return True


def _child_logging(opts: runner.RunOptions, log_format: str, quiet: bool) -> Any:
    """The child's log lines carry ``tenant=<name>``; progress as lines (bars of several processes on one
    terminal would overwrite each other). Returns the progress callback."""
    from pipelines.logging_setup import configure_logging  # noqa: PLC0415
    from pipelines.progress import ProgressTracker, make_renderer  # noqa: PLC0415

    child_log = configure_logging(log_format, quiet, opts.secrets)
    tenant = opts.tenant

    class _Tenant(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.tenant = tenant
            return True

    for handler in child_log.handlers:
        handler.addFilter(_Tenant())
    stream = _Tagged(sys.stderr, tenant) if log_format == "json" else io.StringIO()  # not a terminal: lines
    renderer = make_renderer(quiet, log_format, stream=stream, emit=child_log.info, per_resource=False)
    return ProgressTracker(renderer, resources=opts.resources)


class _Tagged(io.TextIOBase):
    """The JSON progress lines of a child with its `"tenant"` first, like its log lines."""

    def __init__(self, stream: Any, tenant: str) -> None:
        self.stream, self.prefix = stream, '{"tenant": ' + json.dumps(tenant) + ", "

    def write(self, text: str) -> int:
        self.stream.write("".join(self.prefix + line[1:] if line.startswith("{") else line
                                  for line in text.splitlines(keepends=True)))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


__all__ = ["run_fleet", "tenant_options", "FleetResult", "TenantOutcome", "default_parallel", "DEFAULT_PARALLEL"]
