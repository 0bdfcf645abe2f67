"""Ordinary environment failures: one documented line on stderr and exit 2 (docs/troubleshooting.md).

Unwritable or missing DuckDB directory, a DuckDB file locked by another process, Postgres refusing
connections, a missing database, a rejected user, a reader that closes the pipe early (`status | head`),
and the `--requests-per-minute` warning. `run` fails before any API request (the request counter stays
empty). Each message is also checked against docs/troubleshooting.md.
"""
from __future__ import annotations

import http.server
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipelines import cli
from pipelines.warehouse import open_warehouse

from ..conftest import PG_DSN

SECRET = "sk-env-errors-DO-NOT-PRINT-42"
ROOT = Path(__file__).resolve().parents[2]
TROUBLESHOOTING = (ROOT / "docs" / "troubleshooting.md").read_text()


@pytest.fixture
def env(monkeypatch, tmp_path):
    """API settings pointing at a local server that counts requests (there must be none)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCES__LITMOS__API_KEY", SECRET)
    monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1.svc")
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    monkeypatch.delenv("DESTINATION__DUCKDB__CREDENTIALS", raising=False)
    yield hits
    server.shutdown()
    server.server_close()


def _cli(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    return code, out, err


def _documented(message: str, entry: str) -> None:
    """docs/troubleshooting.md lists `entry` (… = any text, host:port, N = a number) and it fits the message."""
    assert f"`{entry}" in TROUBLESHOOTING, f"docs/troubleshooting.md does not list: {entry}"
    pattern = re.escape(entry).replace("…", ".*?").replace("host:port", r"\S+").replace(r"PID\ N", r"PID\ \d+")
    assert re.match(pattern, message), (entry, message)


def _all_commands(tmp_path):
    return [["run", "--no-dbt", "--state-dir", str(tmp_path / "st")], ["status", "--state-dir", str(tmp_path / "st")],
            ["report", "--output", str(tmp_path / "r.html")]]


def test_duckdb_file_in_a_missing_directory(env, tmp_path, monkeypatch, capsys):
    path = tmp_path / "no" / "such" / "dir" / "w.duckdb"
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(path))
    code, out, err = _cli(_all_commands(tmp_path)[0], capsys)
    message = (f"the directory of DuckDB file '{path}' does not exist; create it (mkdir -p {path.parent}) or set "
               "DESTINATION__DUCKDB__CREDENTIALS to a file in an existing directory")
    assert (code, out, err) == (2, "", f"litmos-sync: error: {message}\n")
    _documented(message, "the directory of DuckDB file '…' does not exist")
    # status and report read an existing file: they say so (their own documented line).
    for argv in _all_commands(tmp_path)[1:]:
        code, out, err = _cli(argv, capsys)
        assert (code, out, err) == (2, "", f"litmos-sync: error: DuckDB file '{path}' does not exist; run "
                                            "`litmos-sync run` first or set DESTINATION__DUCKDB__CREDENTIALS to the "
                                            "file you loaded\n")
    assert env == [] and not path.parent.exists()


def test_duckdb_file_in_an_unwritable_directory(env, tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        directory = Path("/sys")  # not writable even for root
        reason = "Permission denied"
    else:  # pragma: no cover - CI runs as root
        directory = tmp_path / "ro"
        directory.mkdir(mode=0o500)
        reason = "Permission denied"
    path = directory / "litmos-test.duckdb"
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(path))
    code, out, err = _cli(_all_commands(tmp_path)[0], capsys)
    message = (f"cannot create DuckDB file '{path}': directory '{directory}' is not writable ({reason}); fix its "
               "permissions or set DESTINATION__DUCKDB__CREDENTIALS to a writable path")
    assert (code, out, err) == (2, "", f"litmos-sync: error: {message}\n")
    assert "another process" not in err
    _documented(message, "cannot create DuckDB file '…': directory '…' is not writable")
    assert env == []


@pytest.fixture
def locked_duckdb(tmp_path):
    """A DuckDB file held open (locked) by another process; yields (path, pid)."""
    path = tmp_path / "locked.duckdb"
    with open_warehouse("duckdb", str(path)):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
                               "sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield path, holder.pid
    holder.stdin.close()
    holder.wait(timeout=30)


def test_duckdb_file_locked_by_another_process(env, tmp_path, monkeypatch, capsys, locked_duckdb):
    path, pid = locked_duckdb
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(path))
    message = (f"DuckDB file '{path}' is locked by another process (PID {pid}); DuckDB allows one writer: wait "
               "for that run to finish or close the program holding the file (a BI tool, a notebook), then rerun")
    for argv in _all_commands(tmp_path):
        code, out, err = _cli(argv, capsys)
        assert (code, out, err) == (2, "", f"litmos-sync: error: {message}\n"), argv
    _documented(message, "DuckDB file '…' is locked by another process (PID N)")
    assert env == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_failures(pg_dsn: str) -> list[tuple[str, str, str]]:
    base = pg_dsn.rpartition("/")[0]
    port = _free_port()
    return [
        ("Postgres at host:port refused the connection", f"postgresql://postgres:Sup3rSecretPw@127.0.0.1:{port}/test",
         f"Postgres at 127.0.0.1:{port} refused the connection (is the server running?); start it or fix host "
         "and port in DESTINATION__POSTGRES__CREDENTIALS"),
        ("Postgres database '…' does not exist on host:port", f"{base}/litmos_never_created",
         f"Postgres database 'litmos_never_created' does not exist on {_where(pg_dsn)}; create it (createdb "
         "litmos_never_created, or CREATE DATABASE as an admin) or fix the database name in "
         "DESTINATION__POSTGRES__CREDENTIALS"),
        ("Postgres on host:port rejected user '…'", re.sub(r"//[^@/]*@", "//litmos_no_such_role:Sup3rSecretPw@", pg_dsn),
         f"Postgres on {_where(pg_dsn)} rejected user 'litmos_no_such_role' (no such role); fix the user and "
         "password in DESTINATION__POSTGRES__CREDENTIALS (postgresql://user:password@host:5432/db)"),
    ]


def _where(dsn: str) -> str:
    from urllib.parse import urlsplit

    url = urlsplit(dsn)
    return f"{url.hostname}:{url.port or 5432}"


@pytest.mark.postgres
def test_postgres_refused_missing_database_and_rejected_user(env, tmp_path, monkeypatch, capsys, pg_database):
    for entry, dsn, message in _pg_failures(pg_database):
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", dsn)
        for argv in _all_commands(tmp_path):
            code, out, err = _cli([*argv, "--destination", "postgres"], capsys)
            assert (code, out, err) == (2, "", f"litmos-sync: error: {message}\n"), argv
            assert "Sup3rSecretPw" not in err
        _documented(message, entry)
    assert env == []


@pytest.mark.postgres
def test_postgres_role_without_create_privilege_fails_in_one_line(env, tmp_path, monkeypatch, capsys, pg_database):
    """The run reaches the warehouse but may not create its schemas: exit 1, one line naming the GRANT."""
    import datetime as dt

    import psycopg2

    from litmos_sim import SimConfig, run_simulator

    name = pg_database.rpartition("/")[2]
    admin = psycopg2.connect(pg_database)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DO $$ BEGIN CREATE ROLE litmos_test_noperm LOGIN; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        cur.execute(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC')
        cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    admin.close()
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS",
                       re.sub(r"//[^@/]*@", "//litmos_test_noperm@", pg_database))
    now = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.timezone.utc)
    with run_simulator(SimConfig(seed=7, scale=200, history_days=5, now=now, api_key=SECRET, rate_limit=None)) as sim:
        monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", sim.base_url)
        code, out, err = _cli(["run", "--destination", "postgres", "--no-dbt", "--resources", "teams", "--quiet",
                               "--start-date", "2026-03-08", "--requests-per-minute", "0",
                               "--state-dir", str(tmp_path / "st")], capsys)
    message = (f"Postgres refused a statement: permission denied for database {name}; the job's role needs CREATE "
               "on the database and on the schemas <dataset>, <dataset>_staging, litmos_staging, "
               "litmos_intermediate, litmos_marts (GRANT CREATE ON DATABASE <db> TO <role>; see "
               "docs/troubleshooting.md)")
    assert (code, out, err) == (1, "", f"litmos-sync: error: {message}\n")
    _documented(message, "Postgres refused a statement: permission denied …")


def test_status_into_a_closed_pipe_is_quiet(env, tmp_path, monkeypatch, capsys):
    """`litmos-sync status | head`: no traceback, no message, exit 141 like other Unix tools."""
    path = tmp_path / "w.duckdb"
    with open_warehouse("duckdb", str(path)):
        pass
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(path))

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = cli.main(["status", "--state-dir", str(tmp_path / "st")])
    monkeypatch.undo()
    assert (code, capsys.readouterr().err) == (141, "")
    _documented_pipe()

    # The real thing: the reader is gone before the command prints.
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "status", "--state-dir", str(tmp_path / "st")],
                            cwd=ROOT, env={**os.environ, "DESTINATION__DUCKDB__CREDENTIALS": str(path)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert (proc.wait(timeout=120), err) == (141, "")


def _documented_pipe() -> None:
    assert "`litmos-sync status | head`" in TROUBLESHOOTING and "the exit status is 141" in TROUBLESHOOTING


def test_requests_per_minute_above_the_litmos_limit_warns(env, tmp_path, monkeypatch, capsys):
    import datetime as dt

    from litmos_sim import SimConfig, run_simulator

    now = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    with run_simulator(SimConfig(seed=7, scale=200, history_days=5, now=now, api_key=SECRET, rate_limit=None)) as sim:
        monkeypatch.setenv("SOURCES__LITMOS__BASE_URL", sim.base_url)
        argv = ["run", "--no-dbt", "--resources", "teams", "--start-date", "2026-03-08"]
        code, out, err = _cli([*argv, "--requests-per-minute", "500", "--state-dir", str(tmp_path / "st")], capsys)
        assert code == 0, err
        first = err.splitlines()[0]
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ WARNING --requests-per-minute 500 is above the 100 requests per "
            r"minute Litmos allows per key; expect 503 responses and retries \(use 100 or less, default 98\)",
            first), first
        assert "`--requests-per-minute N is above the 100" in TROUBLESHOOTING
        # At the limit: no warning.
        code, out, err = _cli([*argv, "--requests-per-minute", "100", "--state-dir", str(tmp_path / "st2")], capsys)
        assert code == 0 and "WARNING --requests-per-minute" not in err
