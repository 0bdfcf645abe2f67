"""Runs the dbt project (dbt_models/) in-process against the warehouse the pipeline loaded.

``build_marts`` is the one entry point (docs/architecture.md section 5): credentials become the ``LITMOS_*``
variables dbt_models/profiles.yml reads, and a failure becomes one line naming the failing nodes.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipelines import config
from pipelines import destination as dest
from sources.litmos.exceptions import redact

_lock_holder = threading.local()  # _project_lock's re-entry, per thread
DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_models"  # also holds profiles.yml

DESTINATIONS = ("duckdb", "postgres")
COMMANDS = ("build", "run", "test", "compile", "seed", "source freshness", "docs generate", "parse")

_FAILED_STATUSES = {"error", "fail", "runtime error"}
_OUTCOME = {"success": "passed", "pass": "passed", "warn": "warned", "skipped": "skipped", "no-op": "skipped",
            **{s: "failed" for s in _FAILED_STATUSES}}
LOG_FILE_DISPLAY = "dbt_models/logs/dbt.log"
_HEADER = re.compile(r"^(Compilation|Runtime|Database|Parsing) Error( in .*)?$")
_PROFILE_ENV = ("LITMOS_DUCKDB_PATH", "LITMOS_PG_HOST", "LITMOS_PG_PORT", "LITMOS_PG_USER",
                "LITMOS_PG_PASSWORD", "LITMOS_PG_DBNAME")
# What dbt_models/macros/tenants.sql accepts (names are written into SQL); datasets: config's rule.
_TENANT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$")


class DbtRunError(RuntimeError):
    """dbt could not be started or a model/test failed; the message is one line and has no secrets."""


@dataclass(frozen=True)
class NodeResult:
    """Outcome of one dbt node; ``message`` is its first line, ``tenant`` set on per-tenant freshness checks."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    message: str = ""
    failures: int | None = None
    tenant: str = ""


@dataclass(frozen=True)
class MartsBuildResult:
    """What ``build_marts`` did: the nodes dbt reported (in its order), the vars passed, the (tenant, raw
    dataset) pairs read and the prefix of the built schemas (``litmos`` -> ``litmos_marts``)."""

    destination: str
    command: str
    nodes: tuple[NodeResult, ...] = ()
    elapsed_s: float = 0.0
    vars: Mapping[str, Any] = field(default_factory=dict)
    tenants: tuple[tuple[str, str], ...] = ()
    schema_prefix: str = config.schema_prefix(config.DEFAULT_DATASET)

    @property
    def marts_schema(self) -> str:
        return f"{self.schema_prefix}_marts"

    @property
    def status_counts(self) -> dict[str, int]:
        return dict(Counter(n.status for n in self.nodes))

    def summary(self) -> str:
        """One line, e.g. ``dbt build: 34 models, 154 tests: 188 passed, 0 warned, 0 failed, 0 skipped in 9.2s
        (full log: dbt_models/logs/dbt.log)``."""
        kinds = Counter("test" if n.resource_type in ("test", "unit_test") else n.resource_type for n in self.nodes)
        kinds.pop("operation", None)  # the on-run-end hook
        shown = [f"{kinds.pop('model', 0)} models", f"{kinds.pop('test', 0)} tests"]
        shown += [f"{n} {kind}s" for kind, n in sorted(kinds.items())]
        counts = Counter(_OUTCOME.get(n.status, "other") for n in self.nodes)
        outcome = ", ".join(f"{counts[k]} {k}" for k in ("passed", "warned", "failed", "skipped"))
        if counts["other"]:
            outcome += f", {counts['other']} other"
        return (f"dbt {self.command}: {', '.join(shown)}: {outcome} in {self.elapsed_s:.1f}s "
                f"(full log: {LOG_FILE_DISPLAY})")

    def by_name(self, name: str) -> NodeResult:
        """The node called ``name`` (KeyError when dbt did not report it)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def build_marts(
    destination: str,
    credentials: Any,
    raw_schema: str = "litmos_raw",
    vars: Mapping[str, Any] | None = None,  # noqa: A002 - name fixed by docs/architecture.md
    select: str | Sequence[str] | None = None,
    command: str = "build",
    *,
    tenants: Sequence[tuple[str, str]] | None = None,
    quiet: bool = False,
    echo: bool = False,
) -> MartsBuildResult:
    """Runs a dbt command of the litmos project against a DuckDB file or a Postgres database.

    Args:
        destination: ``"duckdb"`` or ``"postgres"`` (the profile target).
        credentials: A DuckDB file path, or a Postgres DSN / mapping / credentials object (see
            ``profile_env``); None reads ``$DESTINATION__<DESTINATION>__CREDENTIALS``.
        raw_schema: The raw dataset of a single-org warehouse; its prefix names the built schemas
            (``litmos_raw`` -> ``litmos_staging``, ``litmos_intermediate``, ``litmos_marts``).
        vars: Extra dbt vars, e.g. ``{"as_of_date": "2025-06-30"}``.
        select: dbt selection (string with spaces or a list).
        command: One of ``COMMANDS``.
        tenants: ``[(tenant name, raw dataset), ...]`` that staging unions (every model gets a ``tenant``
            column; dbt_models/README.md "Tenants"); None = tenant ``default`` reading ``raw_schema``.
            ``source freshness`` then runs once per tenant.
        quiet: Print nothing of dbt's own log.
        echo: Also print dbt's log to stdout; the full log is always in dbt_models/logs/dbt.log.

    Raises:
        DbtRunError: Bad arguments, unreachable warehouse or a failing node; one line, no password.
    """
    destination = (destination or "").strip().lower()
    if destination not in DESTINATIONS:
        raise DbtRunError(f"unknown destination {destination!r} for dbt: use one of {', '.join(DESTINATIONS)}")
    command = " ".join((command or "").split())
    if command not in COMMANDS:
        raise DbtRunError(f"unsupported dbt command {command!r}: use one of {', '.join(COMMANDS)}")
    if not raw_schema or not str(raw_schema).replace("_", "").isalnum():
        raise DbtRunError(f"invalid raw_schema {raw_schema!r}: use the dlt dataset name, e.g. litmos_raw")
    pairs = _tenant_pairs(tenants, raw_schema)
    prefix = config.schema_prefix(raw_schema)
    env = profile_env(destination, credentials)
    secret = env.get("LITMOS_PG_PASSWORD", "")
    all_vars = {**dict(vars or {}), "raw_schema": raw_schema}
    if tenants is not None:
        all_vars.update(schema_prefix=prefix, tenants=[{"name": n, "schema": s} for n, s in pairs])
    # dbt's sources have one schema (var raw_schema), so freshness is checked per tenant, on its dataset.
    runs: list[tuple[str, dict[str, Any]]] = [("", all_vars)]
    if command == "source freshness" and tenants is not None:
        runs = [(n, {**all_vars, "raw_schema": s, "tenants": [{"name": n, "schema": s}]}) for n, s in pairs]

    started = time.monotonic()
    nodes: list[NodeResult] = []
    problems: list[str] = []
    with _environ(env), _project_lock():
        for tenant, run_vars in runs:
            outcome = _invoke(_dbt_args(command, destination, run_vars, select, quiet, echo), command,
                              destination, secret)
            ran = [replace(n, tenant=tenant) for n in _nodes(outcome.result)]
            nodes += ran
            if not outcome.success and not any(n.status in _FAILED_STATUSES for n in ran):
                reason = _first_line(outcome.exception) if outcome.exception else f"see {LOG_FILE_DISPLAY}"
                problems.append(f"tenant {tenant}: {reason}" if tenant else reason)
    elapsed = time.monotonic() - started
    result = MartsBuildResult(destination, command, tuple(nodes), elapsed, all_vars, tuple(pairs), prefix)
    if problems or any(n.status in _FAILED_STATUSES for n in nodes):
        raise DbtRunError(redact(_failure_line(command, destination, result.nodes, problems), secret))
    return result


def _tenant_pairs(tenants: Sequence[tuple[str, str]] | None, raw_schema: str) -> list[tuple[str, str]]:
    """The checked (tenant name, raw dataset) pairs; None = the single-org tenant reading raw_schema."""
    if tenants is None:
        return [(config.DEFAULT_TENANT, raw_schema)]
    pairs = [tuple(str(part) for part in pair) for pair in tenants]
    if not pairs:
        raise DbtRunError("no tenants to build: pass at least one (tenant name, raw dataset) pair, "
                          "e.g. tenants=[('acme', 'litmos_raw__acme')]")
    for i, pair in enumerate(pairs):
        if len(pair) != 2 or not _TENANT_RE.match(pair[0]):
            raise DbtRunError(f"invalid tenant {pair!r}: give (name, raw dataset), the name of letters, digits, "
                              "'_' and '-', e.g. ('acme', 'litmos_raw__acme')")
        if not config._DATASET_RE.match(pair[1]):
            raise DbtRunError(f"invalid raw dataset {pair[1]!r} of tenant {pair[0]!r}: use the tenant's dlt "
                              f"dataset name, e.g. {config.tenant_dataset(config.DEFAULT_DATASET, pair[0])}")
        if pair[0] in (name for name, _ in pairs[:i]):
            raise DbtRunError(f"tenant {pair[0]!r} is listed twice: give each tenant once")
    # Datasets are used as written: the sync keeps a tenant dataset's `__` (destination.dlt_destination).
    return pairs


def _dbt_args(command: str, destination: str, run_vars: Mapping[str, Any], select: str | Sequence[str] | None,
              quiet: bool, echo: bool) -> list[str]:
    args = [*command.split(), "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target", destination,
            # One target dir per destination: keeps partial parsing useful when both are used in turn.
            "--target-path", str(target_dir(destination)),
            "--log-path", str(DBT_PROJECT_DIR / "logs"),
            "--vars", json.dumps(dict(run_vars), default=str)]
    if select:
        args += ["--select", *(select.split() if isinstance(select, str) else
                               [s for item in select for s in str(item).split()])]
    # The full log (debug level, no colour codes) always goes to dbt_models/logs/dbt.log. The console
    # gets dbt's own log only with echo=True, coloured only on a terminal; callers print `summary()`.
    console = echo and not quiet
    colours = console and hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    args[:0] = ["--log-level", "info" if console else "none", "--log-level-file", "debug",
                "--use-colors" if colours else "--no-use-colors", "--no-use-colors-file"]
    if quiet:
        args.insert(0, "--quiet")
    return args


def _invoke(args: list[str], command: str, destination: str, secret: str) -> Any:
    """One in-process dbt invocation (the caller holds the project lock and the profile environment)."""
    from dbt.cli.main import dbtRunner  # imported late: dbt is slow to import

    try:
        return dbtRunner().invoke(args)
    except Exception as exc:  # noqa: BLE001 - dbt raises assorted types; report one line
        raise DbtRunError(redact(f"dbt {command} on {destination} could not run: {_first_line(exc)}",
                                 secret)) from None
    finally:
        if destination == "duckdb":
            _release_duckdb()


def profile_env(destination: str, credentials: Any) -> dict[str, str]:
    """The LITMOS_* variables profiles.yml reads, from a DuckDB path or Postgres credentials (DSN, mapping
    or object); DbtRunError when they are missing or malformed (never with the password)."""
    if destination == "duckdb":
        path = dest.duckdb_path(credentials or os.environ.get("DESTINATION__DUCKDB__CREDENTIALS")
                                or dest.DEFAULT_DUCKDB_PATH)
        if not path or path == ":memory:":
            raise DbtRunError("dbt needs a DuckDB file path (an in-memory database cannot be shared with dbt): "
                              "pass the warehouse file, e.g. litmos.duckdb")
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_file():
            raise DbtRunError(f"DuckDB file {resolved} does not exist: run the sync first (litmos-sync run) "
                              "or pass the path of the loaded warehouse")
        return {"LITMOS_DUCKDB_PATH": str(resolved)}
    credentials = credentials or os.environ.get("DESTINATION__POSTGRES__CREDENTIALS")
    if not credentials:
        raise DbtRunError("no Postgres credentials: pass a DSN postgresql://user:password@host:5432/dbname "
                          "or set DESTINATION__POSTGRES__CREDENTIALS")
    try:
        pg = dest.postgres_credentials(credentials)
    except dest.CredentialsError as exc:
        raise DbtRunError(str(exc)) from None
    if not pg.database:
        raise DbtRunError("Postgres credentials name no database: use postgresql://user:password@host:5432/dbname")
    return {"LITMOS_PG_HOST": str(pg.host or "127.0.0.1"), "LITMOS_PG_PORT": str(pg.port or 5432),
            "LITMOS_PG_USER": str(pg.username or "postgres"), "LITMOS_PG_PASSWORD": str(pg.password or ""),
            "LITMOS_PG_DBNAME": str(pg.database)}


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.pop(name, None) for name in _PROFILE_ENV}
    os.environ.update(values)
    try:
        yield
    finally:
        for name in _PROFILE_ENV:
            os.environ.pop(name, None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})


def target_dir(destination: str | None) -> Path:
    """Where dbt writes its artifacts (manifest, compiled SQL, catalog) for ``destination``:
    ``<root>/<destination>``, the root being dbt's own ``$DBT_TARGET_PATH`` when set, else
    ``dbt_models/target``; ``None`` gives the root. Processes with their own root (test workers,
    orchestrator workers sharing one checkout) run dbt at the same time; one root runs one dbt at a time."""
    root = Path(os.environ["DBT_TARGET_PATH"]).resolve() if os.environ.get("DBT_TARGET_PATH") \
        else DBT_PROJECT_DIR / "target"
    return root if destination is None else root / destination


@contextlib.contextmanager
def _project_lock() -> Iterator[None]:
    """One dbt invocation at a time per target directory, across processes (dbt rewrites its artifacts in
    place); re-entrant in a thread, so run_mf can hold it from a parse to its use of the artifacts."""
    import fcntl  # noqa: PLC0415 - POSIX only, like the rest of the deployment

    if getattr(_lock_holder, "held", False):
        yield
        return
    root = target_dir(None)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".litmos-sync.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed, on any exit
        _lock_holder.held = True
        try:
            yield
        finally:
            _lock_holder.held = False


def _release_duckdb() -> None:
    """Closes the DuckDB instance dbt-duckdb keeps open in-process (else this process cannot open the file
    again with another configuration); dbt-duckdb has no public call for it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager  # noqa: PLC0415

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            with contextlib.suppress(Exception):  # closing is best effort; the run already finished
                environment.close()


def _nodes(result: Any) -> Iterator[NodeResult]:
    for item in getattr(result, "results", None) or ():
        node = getattr(item, "node", None)
        if node is None:
            continue
        resource_type = str(getattr(getattr(node, "resource_type", ""), "value", getattr(node, "resource_type", "")))
        if resource_type == "exposure":  # `dbt build` lists exposures (models/exposures.yml) as no-ops: nothing ran
            continue
        status = getattr(item.status, "value", item.status)
        yield NodeResult(
            unique_id=getattr(node, "unique_id", ""),
            name=getattr(node, "name", ""),
            resource_type=resource_type,
            status=str(status),
            message=_first_line(getattr(item, "message", "") or ""),
            failures=getattr(item, "failures", None),
        )


def _failure_line(command: str, destination: str, nodes: Sequence[NodeResult], problems: Sequence[str]) -> str:
    """One line: the failing nodes (at most 3 named) or, when dbt failed before any node, its reasons."""
    failed = [n for n in nodes if n.status in _FAILED_STATUSES]
    if not failed:
        return f"dbt {command} on {destination} failed: {'; '.join(problems) or 'see ' + LOG_FILE_DISPLAY}"
    shown = "; ".join(f"{n.resource_type} {n.name}{f' of tenant {n.tenant}' if n.tenant else ''} "
                      f"({n.status}: {n.message or 'no message'})" for n in failed[:3])
    shown += "".join(f"; {problem}" for problem in problems)
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    tail = f"; {skipped} skipped" if (skipped := sum(1 for n in nodes if n.status == "skipped")) else ""
    return (f"dbt {command} on {destination} failed: {shown}{more}{tail}; "
            "details in dbt_models/logs/dbt.log")


def _first_line(value: Any, limit: int = 300) -> str:
    """The informative line of a message: dbt's ``Compilation Error in model x`` header and ``> in macro``
    context lines are skipped when there is something better."""
    lines = [line.strip() for line in str(value).splitlines() if line.strip()]
    useful = [line for line in lines if not _HEADER.match(line) and not line.startswith(">")]
    line = (useful or lines or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."
