"""Tenants: the Litmos orgs one warehouse holds, each with its own key, pipeline and raw dataset.

Configured the dlt way (docs/configuration.md, "Many orgs"): a section ``[sources.litmos.tenants.<name>]``
with ``api_key`` (in ``.dlt/secrets.toml``), ``base_url`` and ``source`` (``.dlt/config.toml``), or the
environment ``SOURCES__LITMOS__TENANTS__<NAME>__API_KEY`` / ``__BASE_URL`` / ``__SOURCE``. The settings of
a single-org setup (``SOURCES__LITMOS__API_KEY``...) are the tenant ``default``: pipeline ``litmos``,
dataset ``litmos_raw``, so a warehouse from before tenants keeps working as it is.

dlt's environment provider cannot list keys, so the names are found by scanning ``os.environ`` for the
prefix and by reading the ``tenants`` table of each toml provider; every value is then read through
dlt's providers, in their order (environment first).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from pipelines import config
from pipelines.config import DEFAULT_TENANT, ConfigError

SECTION = ("sources", "litmos")
ENV_PREFIX = "SOURCES__LITMOS__TENANTS__"
FIELDS = ("api_key", "base_url", "source")
PIPELINE_NAME = "litmos"
MAX_SCHEMA_LENGTH = 63  # Postgres identifiers (NAMEDATALEN - 1)
# dlt merges through a staging schema `<dataset>_staging`: the tenant's dataset must leave room for it.
STAGING_SUFFIX = "_staging"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Tenant:
    """One Litmos org. ``api_key`` is a secret: it is left out of ``repr`` and never printed."""

    name: str
    api_key: str = field(repr=False)
    base_url: str
    source: str

    @property
    def pipeline_name(self) -> str:
        """The tenant's dlt pipeline (its state dir under ``--state-dir``): ``litmos__<name>``;
        the single-org tenant keeps ``litmos``."""
        return pipeline_name(self.name)

    def dataset(self, base: str = config.DEFAULT_DATASET) -> str:
        """The tenant's raw dataset: ``config.tenant_dataset(base, name)``, e.g. ``litmos_raw__acme``."""
        return config.tenant_dataset(base, self.name)


def pipeline_name(tenant: str) -> str:
    """``litmos__<tenant>``; ``litmos`` for the single-org tenant (its state dir as before tenants)."""
    return PIPELINE_NAME if tenant == DEFAULT_TENANT else f"{PIPELINE_NAME}__{tenant}"


def tenant_of(pipeline: str) -> str | None:
    """The tenant whose pipeline is ``pipeline`` (the inverse of :func:`pipeline_name`); None for the
    single org's ``litmos`` or a pipeline of another name."""
    prefix = PIPELINE_NAME + "__"
    return pipeline[len(prefix):] or None if pipeline.startswith(prefix) else None


def validate_name(name: str, where: str) -> str:
    """A tenant name is ``[a-z][a-z0-9_]*`` without ``__`` (the separator of datasets and env names).

    Raises:
        ConfigError: Not such a name; ``where`` says where it was written.
    """
    if not _NAME_RE.match(name) or "__" in name or name.endswith("_"):
        raise ConfigError(
            f"tenant name {name!r} ({where}) is not valid; use lower-case letters, digits and single "
            "underscores, starting with a letter, e.g. [sources.litmos.tenants.acme_eu] or "
            "SOURCES__LITMOS__TENANTS__ACME_EU__API_KEY")
    return name


def check_dataset(dataset: str, tenant: str) -> str:
    """The tenant's dataset must fit a Postgres schema name, with dlt's ``_staging`` suffix.

    Raises:
        ConfigError: The name is too long.
    """
    limit = MAX_SCHEMA_LENGTH - len(STAGING_SUFFIX)
    if len(dataset) > limit:
        raise ConfigError(
            f"dataset {dataset!r} of tenant {tenant} is {len(dataset)} characters; Postgres allows "
            f"{MAX_SCHEMA_LENGTH} and dlt adds {STAGING_SUFFIX} for merges, so at most {limit}: use a shorter "
            "tenant name or --dataset")
    return dataset


def _providers() -> list[Any]:
    import dlt  # noqa: PLC0415,F401 - slow import; initialises the run context
    from dlt.common.configuration.container import Container  # noqa: PLC0415
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext  # noqa: PLC0415

    return list(Container()[PluggableRunContext].providers.providers)


def _toml_sections() -> dict[str, dict[str, Any]]:
    """``{name: {key: value}}`` of every ``[sources.litmos.tenants.*]`` table, over all toml providers."""
    found: dict[str, dict[str, Any]] = {}
    for provider in _providers():
        if provider.name.startswith("Environment"):
            continue  # cannot list keys: see _env_names
        try:
            value, _ = provider.get_value("tenants", dict, None, *SECTION)
        except Exception:  # noqa: BLE001 - a provider that cannot hold tables (the environment)
            continue
        if not isinstance(value, Mapping):
            continue
        for name, table in value.items():
            where = f"[sources.litmos.tenants.{name}] in {provider.name}"
            validate_name(str(name), where)
            if not isinstance(table, Mapping):
                raise ConfigError(f"sources.litmos.tenants.{name} in {provider.name} is not a table; write "
                                  f"[sources.litmos.tenants.{name}] with api_key, base_url and source")
            _known_keys(table, where)
            found.setdefault(str(name), {}).update({k: v for k, v in table.items() if k not in found.get(name, {})})
    return found


def _env_names(environ: Mapping[str, str]) -> list[str]:
    """Tenant names in ``SOURCES__LITMOS__TENANTS__<NAME>__<FIELD>`` environment variables."""
    names = []
    for key in sorted(environ):
        if not key.upper().startswith(ENV_PREFIX):
            continue
        rest = key[len(ENV_PREFIX):]
        name, sep, what = rest.rpartition("__")
        if not sep or what.lower() not in FIELDS or key != key.upper():
            raise ConfigError(
                f"environment variable {key} is not a tenant setting; use SOURCES__LITMOS__TENANTS__<NAME>__"
                "API_KEY, __BASE_URL or __SOURCE with the name upper-case, e.g. SOURCES__LITMOS__TENANTS__ACME__API_KEY")
        names.append(validate_name(name.lower(), f"environment variable {key}"))
    return list(dict.fromkeys(names))


def _known_keys(table: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} in {where}; a tenant takes "
                          f"{', '.join(FIELDS)}")


def _value(name: str, key: str) -> Any:
    """``sources.litmos.tenants.<name>.<key>`` through dlt's providers (environment first)."""
    import dlt  # noqa: PLC0415

    path = f"sources.litmos.tenants.{name}.{key}"
    for accessor in (dlt.secrets, dlt.config):
        try:
            value = accessor.get(path)
        except Exception:  # noqa: BLE001 - a malformed toml must not hide an env var
            value = None
        if value not in (None, ""):
            return value
    return None


def configured_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the tenants configured in ``[sources.litmos.tenants.*]`` or the environment, sorted."""
    names = set(_env_names(os.environ if environ is None else environ)) | set(_toml_sections())
    return sorted(names)


def load_tenants(require_keys: bool = True) -> list[Tenant]:
    """Every configured tenant, sorted by name; the single-org settings are the tenant ``default``.

    A tenant without ``base_url``/``source`` takes the ``[sources.litmos]`` ones (then the defaults).

    Args:
        require_keys: A run needs every key; ``status`` and ``tenants`` read only the warehouse, so
            with False a tenant without a key is listed (``api_key`` empty) and the single-org tenant
            is listed whenever no other is configured.

    Returns:
        The tenants; empty when no API key is configured at all (the caller says how to set one).

    Raises:
        ConfigError: A bad tenant name, a tenant without ``api_key``, or a malformed setting.
    """
    from pipelines.sync_options import configured  # noqa: PLC0415 - dlt injects sources.litmos.*

    names = configured_names()
    top = configured()
    tenants = []
    if DEFAULT_TENANT not in names and (top.get("api_key") or not require_keys and not names):
        url = str(top.get("base_url") or config.REGION_BASE_URLS["us"])
        api = config.resolve_api_settings() if require_keys else config.ApiSettings(
            url, str(top.get("source") or config.DEFAULT_SOURCE_NAME), str(top.get("api_key") or ""))
        tenants.append(Tenant(DEFAULT_TENANT, api.api_key, api.base_url, api.source_name))
    for name in names:
        key = _value(name, "api_key")
        base_url = _value(name, "base_url") or top.get("base_url") or config.REGION_BASE_URLS["us"]
        source = _value(name, "source") or top.get("source") or config.DEFAULT_SOURCE_NAME
        if not key and not require_keys:
            tenants.append(Tenant(name, "", str(base_url), str(source)))
            continue
        if not key:
            raise ConfigError(
                f"tenant {name} has no api_key; set SOURCES__LITMOS__TENANTS__{name.upper()}__API_KEY (or api_key "
                f"under [sources.litmos.tenants.{name}] in .dlt/secrets.toml)")
        try:
            api = config.resolve_api_settings(str(key), str(base_url), str(source))
        except ConfigError as exc:
            raise ConfigError(f"tenant {name}: {exc}".replace("SOURCES__LITMOS__",
                                                              f"SOURCES__LITMOS__TENANTS__{name.upper()}__")) from None
        tenants.append(Tenant(name, api.api_key, api.base_url, api.source_name))
    return sorted(tenants, key=lambda t: t.name)


def many(tenants: Sequence[Tenant]) -> bool:
    """Whether tenants are configured, i.e. anything but the single-org setup of before tenants."""
    return any(t.name != DEFAULT_TENANT for t in tenants)


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The tenants' keys set in the environment, for messages printed before the config is read."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if k.startswith(ENV_PREFIX) and k.endswith("__API_KEY") and v]


def select(tenants: Sequence[Tenant], names: str | Iterable[str] | None, dataset: str) -> list[Tenant]:
    """The tenants a run or a status names (``--tenant a,b``; None = all), their datasets checked.

    Raises:
        ConfigError: No tenant is configured, a name is unknown (the message lists the configured ones),
            or a tenant's dataset name is too long.
    """
    if not tenants:
        raise ConfigError(
            "no Litmos API key; set SOURCES__LITMOS__API_KEY for one org, or one "
            "SOURCES__LITMOS__TENANTS__<NAME>__API_KEY per org (or [sources.litmos.tenants.<name>] in "
            ".dlt/secrets.toml); see docs/configuration.md")
    by_name = {t.name: t for t in tenants}
    if names is None:
        chosen = list(tenants)
    else:
        wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n and n.strip()]
        if not wanted:
            raise ConfigError("--tenant is empty; give a comma-separated list such as --tenant acme,beta")
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise ConfigError(f"unknown tenant(s) {', '.join(unknown)}; configured: {', '.join(by_name)}")
        chosen = [by_name[n] for n in dict.fromkeys(wanted)]
    for tenant in chosen:
        check_dataset(tenant.dataset(dataset), tenant.name)
    return chosen


def secrets(tenants: Iterable[Tenant]) -> list[str]:
    """Every tenant's key, for the redactor."""
    return [t.api_key for t in tenants if t.api_key]


__all__ = ["Tenant", "load_tenants", "select", "many", "env_secrets", "configured_names", "pipeline_name", "validate_name",
           "check_dataset", "secrets"]
