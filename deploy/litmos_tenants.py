"""The tenants (Litmos orgs) the Dagster code location and the Airflow DAG sync, and one tenant's sync.

Shared by `deploy/dagster/definitions.py` and `deploy/airflow/litmos_sync_dag.py`, which load it from
this folder by path (deploy/ is not a package). The tenants are read by `pipelines.tenants` (the CLI's
reader: `[sources.litmos.tenants.<name>]` in .dlt/*.toml or the environment) and each one runs with the
options `litmos-sync run --tenant <name>` would use (`pipelines.fleet.tenant_options`).

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

from pipelines import config
from pipelines import tenants as configured


def load_tenants() -> list:
    """The configured tenants (`pipelines.tenants.Tenant`), sorted by name; the single-org settings are the
    tenant `default`. Listed even without a key (partitions, checks); a sync then fails in one line."""
    return configured.load_tenants(require_keys=False)


def tenant(name: str):
    """The configured tenant `name`; a one-line error naming the configured ones otherwise."""
    found = {t.name: t for t in configured.load_tenants()}
    if name not in found:
        raise config.ConfigError(f"unknown tenant {name!r}: configured are {', '.join(found) or 'none'} "
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


def dataset(org) -> str:
    """The raw dataset of a tenant: `litmos_raw__<name>` (`litmos_raw` itself for the tenant `default`)."""
    return org.dataset(dataset_prefix())


def sync_tenant(name: str, resources: list[str] | None = None):
    """Sync one tenant (its `resources`, all when None) as `litmos-sync run --tenant <name> --no-dbt` does:
    whole-history walk on a first run, batch commits, run history in `<dataset>._litmos_sync_runs`.

    Returns:
        The `RunSummary`.

    Raises:
        RunFailed: The sync failed (one line, no key); its run history row is written first.
    """
    from pipelines.fleet import tenant_options  # noqa: PLC0415 - imports dlt: keep parsing the DAG file fast
    from pipelines.runner import run_sync  # noqa: PLC0415

    every = configured.load_tenants()
    rpm = int(os.environ.get("LITMOS_REQUESTS_PER_MINUTE", config.DEFAULT_REQUESTS_PER_MINUTE))
    options = tenant_options(tenant(name), every, dataset_prefix(), destination=destination(), resources=resources,
                             state_dir=state_dir(), run_dbt=False, requests_per_minute=rpm,
                             command=f"litmos-sync run --tenant {name}")
    return run_sync(options=options)


def build_marts(select: list[str] | None = None):
    """Build the dbt marts over every configured tenant (dbt skips a tenant with no raw data yet), as
    `litmos-sync run` does after its loads; returns the `MartsBuildResult`."""
    from pipelines.dbt_runner import build_marts as run_dbt  # noqa: PLC0415

    pairs = [(t.name, dataset(t)) for t in load_tenants()]
    return run_dbt(destination(), config.resolve_credentials(destination()), raw_schema=dataset_prefix(),
                   select=select or None, quiet=True, tenants=pairs)
