"""The project's dlt defaults (pipelines.dlt_defaults) apply unless the user set the value."""
from __future__ import annotations

import dlt
from dlt.common.runtime import anon_tracker

from pipelines.dlt_defaults import DEFAULTS, use_project_defaults


def test_defaults_apply_once_and_the_users_environment_wins(monkeypatch):
    monkeypatch.delenv("RUNTIME__DLTHUB_TELEMETRY", raising=False)
    use_project_defaults()
    use_project_defaults()  # registered once
    for key, value in DEFAULTS.items():
        assert dlt.config.get(key) == value
    assert anon_tracker._ANON_TRACKER_ENDPOINT is None  # no usage pings unless opted in
    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "false")
    assert dlt.config.get("load.delete_completed_jobs") == "false"
