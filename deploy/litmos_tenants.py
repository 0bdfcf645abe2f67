"""The tenants (Litmos orgs) the Dagster code location and the Airflow DAG sync, and one tenant's sync.

Shared by `deploy/dagster/definitions.py` and `deploy/airflow/litmos_sync_dag.py`, which load it from
this folder by path (deploy/ is not a package). `load_tenants()` is the one place that reads the tenants:
swap its body for `pipelines.tenants.load_tenants()` once that lands.

Settings (environment; the dlt way for the tenants):
    SOURCES__LITMOS__TENANTS__<NAME>__API_KEY   the org's key (a secret); one per tenant, <NAME> = A-Z0-9_
    SOURCES__LITMOS__TENANTS__<NAME>__BASE_URL  its region's API URL (optional)
    SOURCES__LITMOS__TENANTS__<NAME>__SOURCE    the `source` parameter Litmos wants (optional)
    LITMOS_DESTINATION           duckdb (default) or postgres; credentials as for the CLI
                                 (DESTINATION__DUCKDB__CREDENTIALS / DESTINATION__POSTGRES__CREDENTIALS)
    LITMOS_DATASET               raw dataset prefix (default litmos_raw: tenant acme -> litmos_raw__acme)
    LITMOS_STATE_DIR             dlt pipelines dir (default state), one pipeline `litmos__<tenant>` each
    LITMOS_REQUESTS_PER_MINUTE   per key (default 100, the vendor's limit; 0 = unthrottled, for tests)
Without any tenant the single-org settings (SOURCES__LITMOS__API_KEY ...) are the one tenant `default`,
loading `litmos_raw` with pipeline `litmos` as `litmos-sync run` does.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from pipelines import config

_TENANT_ENV = re.compile(r"^SOURCES__LITMOS__TENANTS__([A-Z0-9_]+?)__API_KEY$")


@dataclass(frozen=True)
class Tenant:
    """One Litmos org: its name, key (never printed: `repr` hides it), region URL and source name."""

    name: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    source: str | None = None

    @property
    def dataset(self) -> str:
        """Its raw dataset: `litmos_raw__<name>` (`litmos_raw` itself for the single-org tenant)."""
        return config.tenant_dataset(dataset_prefix(), self.name)

    @property
    def pipeline_name(self) -> str:
        """Its dlt pipeline (own state, cursors): `litmos__<name>` (`litmos` for the single-org tenant)."""
        return "litmos" if self.name == config.DEFAULT_TENANT else f"litmos__{self.name}"


def load_tenants(environ: dict[str, str] | None = None) -> list[Tenant]:
    """The configured tenants, sorted by name; the single-org setup as tenant `default` when none is."""
    env = os.environ if environ is None else environ
    tenants = []
    for key, value in env.items():
        match = _TENANT_ENV.match(key)
        if match and value:
            upper = match.group(1)
            prefix = f"SOURCES__LITMOS__TENANTS__{upper}__"
            tenants.append(Tenant(upper.lower(), value, env.get(prefix + "BASE_URL") or None,
                                  env.get(prefix + "SOURCE") or None))
    return sorted(tenants, key=lambda t: t.name) or [Tenant(config.DEFAULT_TENANT)]


def tenant(name: str) -> Tenant:
    """The configured tenant `name`; a one-line error naming the configured ones otherwise."""
    found = {t.name: t for t in load_tenants()}
    if name not in found:
        raise config.ConfigError(f"unknown tenant {name!r}: configured are {', '.join(found)} "
                                 f"(set SOURCES__LITMOS__TENANTS__{name.upper()}__API_KEY)")
    return found[name]


def destination() -> str:
    """The warehouse kind: LITMOS_DESTINATION, default duckdb."""
    return os.environ.get("LITMOS_DESTINATION", "duckdb")


def dataset_prefix() -> str:
    """The raw dataset the tenants' datasets are named after: LITMOS_DATASET, default litmos_raw."""
    return os.environ.get("LITMOS_DATASET", config.DEFAULT_DATASET)


def state_dir() -> str:
    """dlt's pipelines dir: LITMOS_STATE_DIR, default state."""
    return os.environ.get("LITMOS_STATE_DIR", config.DEFAULT_STATE_DIR)


def sync_tenant(name: str, resources: list[str] | None = None):
    """Sync one tenant (its `resources`, all when None) with the CLI's code path: whole-history walk on a
    first run, batch commits, run history in `<dataset>._litmos_sync_runs`; no dbt.

    Returns:
        The `RunSummary`.

    Raises:
        RunFailed: The sync failed (one line, no key); its run history row is written first.
    """
    from pipelines.runner import run_sync  # noqa: PLC0415 - imports dlt: keep parsing the DAG file fast

    # dlt's snake_case naming folds the `__` of `litmos_raw__acme` into `litmos_raw_acme`, while the run
    # history, status and dbt read the dataset by its configured name: keep the name as given (it is
    # already a valid identifier, config.validate_dataset). TODO(issue 15): belongs in pipelines.sync.
    os.environ.setdefault("DESTINATION__ENABLE_DATASET_NAME_NORMALIZATION", "false")
    org = tenant(name)
    rpm = int(os.environ.get("LITMOS_REQUESTS_PER_MINUTE", config.DEFAULT_REQUESTS_PER_MINUTE))
    kwargs = {"api_key": org.api_key, "base_url": org.base_url, "source_name": org.source} \
        if org.name != config.DEFAULT_TENANT else {}
    return run_sync(destination=destination(), dataset=org.dataset, resources=resources,
                    pipeline_name=org.pipeline_name, state_dir=state_dir(), run_dbt=False, requests_per_minute=rpm,
                    command=f"litmos-sync run (tenant {org.name})", **kwargs)


def build_marts(names: list[str] | None = None, select: list[str] | None = None):
    """Build the dbt marts over the tenants `names` (all when None); returns the `MartsBuildResult`.

    Until `pipelines.dbt_runner.build_marts` takes `tenants=[(name, dataset), ...]` (issue 15) the marts
    can only read one raw dataset: then they are built over the first tenant by name, alone.
    """
    import inspect  # noqa: PLC0415

    from pipelines.dbt_runner import build_marts as run_dbt  # noqa: PLC0415

    orgs = [tenant(n) for n in names] if names else load_tenants()
    kwargs = {"select": select} if select else {}
    if "tenants" in inspect.signature(run_dbt).parameters:
        kwargs["tenants"] = [(t.name, t.dataset) for t in orgs]
        return run_dbt(destination(), config.resolve_credentials(destination()), raw_schema=dataset_prefix(),
                       quiet=True, **kwargs)
    return run_dbt(destination(), config.resolve_credentials(destination()), raw_schema=orgs[0].dataset,
                   quiet=True, **kwargs)
