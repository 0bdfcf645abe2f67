"""The project's defaults for dlt's own settings, as dlt's last (lowest-priority) config provider."""
from __future__ import annotations

from typing import Any

from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import DictionaryProvider
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
from dlt.common.runtime import telemetry

from pipelines.state_hygiene import DLT_CONFIG

DEFAULTS: dict[str, Any] = {
    # Arrow tables skip the JSON normalizer: ask the parquet one for dlt's usual row columns too.
    "normalize.parquet_normalizer.add_dlt_id": True,
    "normalize.parquet_normalizer.add_dlt_load_id": True,
    # No anonymous usage pings from an unattended ETL unless the user opts in (RUNTIME__DLTHUB_TELEMETRY).
    "runtime.dlthub_telemetry": False,
    **DLT_CONFIG,
}


class ProjectDefaults(DictionaryProvider):
    """:data:`DEFAULTS` as a dlt config provider."""

    NAME = "litmos-sync defaults"

    def __init__(self) -> None:
        super().__init__()
        for path, value in DEFAULTS.items():
            *sections, key = path.split(".")
            self.set_value(key, value, None, *sections)

    @property
    def name(self) -> str:
        return self.NAME


def use_project_defaults() -> None:
    """Adds :class:`ProjectDefaults` after the user's providers (again if dlt reloaded them)."""
    run_context = Container()[PluggableRunContext]
    if ProjectDefaults.NAME in run_context.providers:
        return
    run_context.providers.add_provider(ProjectDefaults())
    # dlt started its runtime (logger, telemetry) when the run context was created, without these
    # defaults: start it again so the telemetry default applies.
    telemetry.stop_telemetry()
    run_context.initialize_runtime()
