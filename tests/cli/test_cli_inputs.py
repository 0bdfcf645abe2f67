"""CLI contract: complete --help everywhere, and bad input fails with ONE line before any request."""
from __future__ import annotations

import argparse
import http.server
import threading

import pytest

from pipelines import cli

SECRET = "sk-test-DO-NOT-PRINT-1234"


@pytest.fixture
def request_counter():
    """A local HTTP server counting requests; the CLI is pointed at it to prove nothing was sent."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1.svc", hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(monkeypatch, tmp_path, request_counter):
    base_url, hits = request_counter
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCES__LITMOS__API_KEY", SECRET)
    monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", base_url)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    return hits


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_and_option_has_help(capsys):
    parser = cli.build_parser()
    commands = _subparsers(parser)
    assert set(commands) == {"run", "status", "demo", "report", "tenants"}
    for name, sub in commands.items():
        assert sub.description, f"{name} has no description"
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings} lacks help"
        with pytest.raises(SystemExit) as exc:
            cli.main([name, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: litmos-sync {name}")
        for action in sub._actions:
            for opt in action.option_strings:
                assert opt in out
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for name in commands:
        assert f"    {name}" in out
    assert "SOURCES__LITMOS__API_KEY" in out and "DESTINATION__POSTGRES__CREDENTIALS" in out


def test_run_help_lists_the_contract_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    for opt in ("--resources a,b", "--start-date YYYY-MM-DD", "--end-date YYYY-MM-DD",
                "--destination {duckdb,postgres}", "--dataset NAME", "--state-dir DIR", "--no-dbt",
                "--quiet", "--log-format {text,json}", "--requests-per-minute N"):
        assert opt in out, opt


@pytest.mark.parametrize("argv, message", [
    (["run", "--start-date", "2025-13-01"],
     "--start-date '2025-13-01' is not a real calendar date; use YYYY-MM-DD"),
    (["run", "--start-date", "01/02/2025"],
     "--start-date '01/02/2025' is not a date; use YYYY-MM-DD, e.g. --start-date 2025-01-31"),
    (["run", "--end-date", "2025-1-5"],
     "--end-date '2025-1-5' is not a date; use YYYY-MM-DD, e.g. --end-date 2025-01-31"),
    (["run", "--start-date", "2025-03-01", "--end-date", "2025-02-01"],
     "--end-date 2025-02-01 is before --start-date 2025-03-01; swap them or pick a later end date"),
    (["run", "--destination", "mysql"],
     "unknown destination 'mysql'; use --destination duckdb or --destination postgres"),
    (["run", "--dataset", "raw-data"],
     "dataset name 'raw-data' is not valid; use letters, digits and underscores, e.g. litmos_raw"),
    (["run", "--requests-per-minute", "-1"],
     "--requests-per-minute -1 is negative; use 1..100 (Litmos allows 100/min) or 0 for unlimited"),
    (["run", "--destination", "postgres"],
     "no Postgres credentials; set DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:password@host:5432/"
     "database (or destination.postgres.credentials in .dlt/secrets.toml)"),
    (["run", "--requests-per-minute", "many"],
     "argument --requests-per-minute: invalid int value: 'many'; see `litmos-sync run --help`"),
    (["run", "--bogus"], "unrecognized arguments: --bogus; see `litmos-sync --help`"),
    (["run", "--lookback-days", "-1"], "--lookback-days -1 is negative; use 0 or more days (default 1)"),
    (["run", "--collection-refresh-days", "-7"],
     "--collection-refresh-days -7 is negative; use 0 (every run) or a number of days, e.g. 7"),
    (["demo", "--scale", "20"], "--scale 20 is too small; use 200 or more simulated users"),
    (["demo", "--history-days", "0"], "--history-days 0 must be at least 1, e.g. --history-days 90"),
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate' (choose from 'run', 'status', 'demo', 'report', 'tenants'); "
                     "see `litmos-sync --help`"),
])
def test_bad_input_is_one_line_exit_2_and_no_request(env, capsys, argv, message):
    assert _exit_code(argv) == 2
    assert capsys.readouterr().err == f"litmos-sync: error: {message}\n"
    assert env == []  # validated before any request


@pytest.mark.parametrize("name, value, message", [
    ("COLLECTION_REFRESH_DAYS", "weekly", "bad collection_refresh_days 'weekly': use 0 (every run) or a whole "
                                          "number of days, e.g. 7 (SOURCES__LITMOS__COLLECTION_REFRESH_DAYS)"),
    ("STORE_LOGIN_KEYS", "maybe", "bad store_login_keys 'maybe': use true or false "
                                  "(SOURCES__LITMOS__STORE_LOGIN_KEYS)"),
])
def test_bad_source_setting_in_the_environment_is_exit_2_and_no_request(env, capsys, monkeypatch, name, value,
                                                                        message):
    monkeypatch.setenv(f"SOURCES__LITMOS__{name}", value)
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == f"litmos-sync: error: {message}\n"
    assert env == []


def test_unknown_resource_lists_the_valid_ones(env, capsys):
    from pipelines.config import known_resources

    assert cli.main(["run", "--resources", "users,coursez,bogus"]) == 2
    err = capsys.readouterr().err
    assert err == (f"litmos-sync: error: unknown resource(s) coursez, bogus; choose from: "
                   f"{', '.join(known_resources())}\n")
    assert "course_results" in err and env == []


def test_missing_api_key_is_explained(env, capsys, monkeypatch):
    monkeypatch.delenv("SOURCES__LITMOS__API_KEY")
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == (
        "litmos-sync: error: no Litmos API key; set SOURCES__LITMOS__API_KEY (or api_key under "
        "[sources.litmos] in .dlt/secrets.toml); find it in Litmos under My Profile & Settings\n")


def test_bad_base_url_is_explained(env, capsys, monkeypatch):
    monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", "api.litmos.com")
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == (
        "litmos-sync: error: base URL 'api.litmos.com' is not a URL; set SOURCES__LITMOS__BASE_URL to e.g. "
        "https://api.litmoseu.com/v1.svc (or us/eu/au)\n")


def test_region_shortcut_resolves_to_host(monkeypatch):
    from pipelines.config import resolve_api_settings

    monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", "EU")
    settings = resolve_api_settings(api_key=SECRET)
    assert (settings.base_url, settings.source_name) == ("https://api.litmoseu.com/v1.svc", "litmos-sync")
    assert SECRET not in repr(settings)


def test_resources_help_lists_names(env, capsys):
    from pipelines.config import known_resources

    assert cli.main(["run", "--resources", "help"]) == 0
    assert capsys.readouterr().out.split() == list(known_resources())


def _exit_code(argv: list[str]) -> int:
    """main()'s status whether it returns it or argparse exits with it."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code)
