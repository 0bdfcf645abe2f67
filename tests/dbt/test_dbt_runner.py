"""build_marts argument handling: credentials -> profile env vars, and one-line errors without secrets."""
from __future__ import annotations

import fcntl
import json
import os
import threading

import pytest

from pipelines.dbt_runner import DBT_PROJECT_DIR, DbtRunError, build_marts, profile_env, target_dir


def test_duckdb_path_becomes_absolute_profile_path(tmp_path, monkeypatch):
    (tmp_path / "w.duckdb").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert profile_env("duckdb", "w.duckdb") == {"LITMOS_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    assert profile_env("duckdb", f"duckdb:///{tmp_path}/w.duckdb") == {"LITMOS_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    assert profile_env("duckdb", None) == {"LITMOS_DUCKDB_PATH": str(tmp_path / "w.duckdb")}


def test_postgres_dsn_is_split_into_profile_vars():
    assert profile_env("postgres", "postgresql://etl:p%40ss%2Fword@db.example.com:6543/lms") == {
        "LITMOS_PG_HOST": "db.example.com", "LITMOS_PG_PORT": "6543", "LITMOS_PG_USER": "etl",
        "LITMOS_PG_PASSWORD": "p@ss/word", "LITMOS_PG_DBNAME": "lms"}
    assert profile_env("postgres", {"host": "h", "username": "u", "database": "d"}) == {
        "LITMOS_PG_HOST": "h", "LITMOS_PG_PORT": "5432", "LITMOS_PG_USER": "u",
        "LITMOS_PG_PASSWORD": "", "LITMOS_PG_DBNAME": "d"}


@pytest.mark.parametrize(("destination", "credentials", "message"), [
    ("snowflake", "x", "unknown destination 'snowflake' for dbt: use one of duckdb, postgres"),
    ("duckdb", ":memory:", "dbt needs a DuckDB file path (an in-memory database cannot be shared with dbt): "
                           "pass the warehouse file, e.g. litmos.duckdb"),
    ("postgres", "host=db password=hunter2 dbname=lms",
     "Postgres credentials must be a URL DSN like postgresql://user:password@host:5432/dbname (got something else)"),
    ("postgres", "postgresql://u:hunter2@db:5432/",
     "Postgres credentials name no database: use postgresql://user:password@host:5432/dbname"),
])
def test_bad_credentials_give_one_line_errors(destination, credentials, message):
    with pytest.raises(DbtRunError) as err:
        build_marts(destination, credentials)
    assert str(err.value) == message


def test_missing_duckdb_file_says_run_the_sync_first(tmp_path):
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", str(tmp_path / "nope.duckdb"))
    assert str(err.value) == (f"DuckDB file {tmp_path / 'nope.duckdb'} does not exist: run the sync first "
                              "(litmos-sync run) or pass the path of the loaded warehouse")


def test_unknown_command_and_bad_raw_schema_are_rejected_before_dbt_runs(tmp_path):
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", str(tmp_path / "w.duckdb"), command="run-operation drop_all")
    assert str(err.value) == ("unsupported dbt command 'run-operation drop_all': use one of build, run, test, "
                              "compile, seed, source freshness, docs generate, parse")
    with pytest.raises(DbtRunError) as err:
        build_marts("duckdb", str(tmp_path / "w.duckdb"), raw_schema="raw; drop schema x")
    assert str(err.value) == "invalid raw_schema 'raw; drop schema x': use the dlt dataset name, e.g. litmos_raw"


@pytest.mark.postgres
def test_unreachable_postgres_error_is_one_line_without_password(pg_database):
    # The database name is fresh but never created: connection fails after authentication (trust auth).
    missing = pg_database.rpartition("/")[0] + "/litmos_never_created"
    dsn = missing.replace("postgres@", "postgres:Sup3rSecretPw@", 1)
    with pytest.raises(DbtRunError) as err:
        build_marts("postgres", dsn, quiet=True)
    message = str(err.value)
    assert message.startswith("dbt build on postgres failed: connection to server at ")
    assert message.endswith('failed: FATAL:  database "litmos_never_created" does not exist')
    assert "\n" not in message
    assert "Sup3rSecretPw" not in message
    assert os.environ.get("LITMOS_PG_PASSWORD") is None  # the runner restores the environment


def test_dbt_artifacts_go_to_dbt_models_target_unless_dbt_target_path_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert target_dir("duckdb") == DBT_PROJECT_DIR / "target" / "duckdb"
    assert target_dir(None) == DBT_PROJECT_DIR / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "own"))
    assert target_dir("postgres") == tmp_path / "own" / "postgres"
    (tmp_path / "w.duckdb").write_bytes(b"")
    build_marts("duckdb", str(tmp_path / "w.duckdb"), command="parse", quiet=True)
    assert json.loads((tmp_path / "own" / "duckdb" / "manifest.json").read_text())["nodes"]


def test_dbt_runs_with_their_own_target_dirs_do_not_wait_for_each_other(tmp_path, monkeypatch):
    # Another process's dbt run holds the lock of the default target dir; a run with its own waits for none.
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("DBT_TARGET_PATH", str(other))
    (tmp_path / "w.duckdb").write_bytes(b"")
    with open(other / ".litmos-sync.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "own"))
        done = []
        worker = threading.Thread(target=lambda: done.append(
            build_marts("duckdb", str(tmp_path / "w.duckdb"), command="parse", quiet=True)), daemon=True)
        worker.start()
        worker.join(300)
        assert done and done[0].command == "parse", "a dbt run waited for another target dir's lock"
        # The same target dir is taken in turn: a run there waits while the lock is held.
        monkeypatch.setenv("DBT_TARGET_PATH", str(other))
        waiting = threading.Thread(target=lambda: done.append(
            build_marts("duckdb", str(tmp_path / "w.duckdb"), command="parse", quiet=True)), daemon=True)
        waiting.start()
        waiting.join(3)
        assert waiting.is_alive() and len(done) == 1
    waiting.join(300)
    assert len(done) == 2
