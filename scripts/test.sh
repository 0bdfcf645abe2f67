#!/usr/bin/env bash
# Runs the whole test suite, DuckDB and PostgreSQL included. Postgres tests fail (not skip) when the
# server at LITMOS_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test) is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
