#!/usr/bin/env bash
# Runs the test suite, DuckDB and PostgreSQL included (`make test`). Sets up what it can first:
#  - .venv from requirements.lock (scripts/bootstrap.sh);
#  - PostgreSQL: started when it is installed and down (as root); the Postgres tests fail, not skip, if
#    the server at LITMOS_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test) is unreachable;
#  - Chromium for the report rendering tests: Debian's package is installed when running as root;
#    otherwise one line says the install command and the browser tests are reported as skipped.
# Tests run in parallel (pytest-xdist, one worker per core; LITMOS_TEST_WORKERS=N to choose, 0 = serial)
# and the slowest are listed at the end. The soak tests (kill/resume loops, long simulated backfills)
# run only with LITMOS_TEST_ALL=1, as CI (.ci/run) does. Extra arguments go to pytest.
# The orchestrators' venvs (.venv-dagster, .venv-airflow: scripts/bootstrap.sh dagster|airflow, about a
# minute each when the lock changed, nothing otherwise) install in the background while the suite runs;
# tests/deploy wait for them (.venv-<extra>.rc holds the exit code, .venv-<extra>.bootstrap.log the log).
set -euo pipefail
cd "$(dirname "$0")/.."
for extra in dagster airflow; do
  rm -f ".venv-$extra.rc"
  (
    if scripts/bootstrap.sh "$extra" >".venv-$extra.bootstrap.log" 2>&1; then rc=0; else rc=$?; fi
    echo "$rc" >".venv-$extra.rc.tmp" && mv ".venv-$extra.rc.tmp" ".venv-$extra.rc"
  ) &
done
export LITMOS_TEST_EXTRAS_BACKGROUND=1
scripts/bootstrap.sh

as_root() { [ "$(id -u)" = 0 ]; }

pg_dsn="${LITMOS_TEST_PG_DSN:-postgresql://postgres@127.0.0.1:5432/test}"
if [ -z "${LITMOS_TEST_PG_DSN:-}" ] && command -v pg_isready >/dev/null 2>&1 \
    && ! pg_isready -h 127.0.0.1 -p 5432 -q && as_root && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "test: PostgreSQL is down, starting it" >&2
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 || true
  done
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

have_chromium() { [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
if ! have_chromium; then
  if as_root && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing Debian's chromium for the browser tests (once per machine)" >&2
    log=".venv/chromium-install.log"
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >"$log" 2>&1; then
      echo "test: could not install chromium (log: $log); the browser tests will be skipped" >&2
    fi
  else
    echo "test: chromium is not installed; the browser tests will be skipped (install it: sudo apt-get install -y chromium)" >&2
  fi
fi

workers="${LITMOS_TEST_WORKERS:-auto}"
args=(--durations=15 --durations-min=1)
if [ "$workers" != 0 ]; then
  # One file per worker at a time: module-scoped fixtures (simulated orgs, loaded warehouses) are built once.
  args+=(-n "$workers" --dist loadfile)
fi
if [ "${LITMOS_TEST_ALL:-}" != 1 ]; then
  args+=(-m "not soak")
fi
exec .venv/bin/python -m pytest "${args[@]}" "$@"
