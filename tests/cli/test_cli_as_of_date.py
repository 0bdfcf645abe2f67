"""`litmos-sync run --as-of-date`: validated once like the other date flags, passed to dbt as var as_of_date."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines import cli, runner

from .test_cli_inputs import _exit_code, env, request_counter  # noqa: F401 - fixtures


@pytest.mark.parametrize("value, message", [
    ("2025-02-30", "--as-of-date '2025-02-30' is not a real calendar date; use YYYY-MM-DD"),
    ("30/06/2025", "--as-of-date '30/06/2025' is not a date; use YYYY-MM-DD, e.g. --as-of-date 2025-01-31"),
])
def test_bad_as_of_date_is_one_line_exit_2_and_no_request(env, capsys, value, message):  # noqa: F811
    assert _exit_code(["run", "--as-of-date", value]) == 2
    assert capsys.readouterr().err == f"litmos-sync: error: {message}\n"
    assert env == []


def test_run_help_lists_as_of_date(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "--as-of-date YYYY-MM-DD" in capsys.readouterr().out


def _built_vars(monkeypatch, tmp_path, **prepare_kwargs) -> dict:
    seen: dict = {}

    def fake_build_marts(destination, credentials, raw_schema="litmos_raw", vars=None, **kwargs):  # noqa: A002
        seen["vars"] = dict(vars or {})
        raise RuntimeError("stop here")

    monkeypatch.setattr("pipelines.dbt_runner.build_marts", fake_build_marts)
    opts = runner.prepare(credentials=str(tmp_path / "w.duckdb"), api_key="k", base_url="http://127.0.0.1:9/v1.svc",
                          **prepare_kwargs)
    status, _ = runner.build_marts_once(opts)
    assert status == "failed"
    return seen["vars"]


def test_as_of_date_reaches_dbt_as_var(monkeypatch, tmp_path):
    assert _built_vars(monkeypatch, tmp_path, as_of_date="2025-06-30") == {"as_of_date": "2025-06-30"}
    assert runner.prepare(credentials="x.duckdb", api_key="k", as_of_date=dt.date(2025, 6, 30)).as_of_date == \
        dt.date(2025, 6, 30)


def test_without_as_of_date_dbt_uses_its_default_today(monkeypatch, tmp_path):
    assert _built_vars(monkeypatch, tmp_path) == {}
