#!/usr/bin/env bash
# Creates a virtualenv with pinned dependencies and the project installed in editable mode:
#   scripts/bootstrap.sh           .venv from requirements.lock (the core)
#   scripts/bootstrap.sh dagster   .venv-dagster from requirements-dagster.lock (litmos-sync[dagster])
#   scripts/bootstrap.sh airflow   .venv-airflow from requirements-airflow.lock (litmos-sync[airflow])
# Idempotent: reinstalls only when the lock file or pyproject.toml changed since the last run (a stamp
# file in the venv). Each orchestrator has its own venv so its packages never enter the core's.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
case "$extra" in
  "") venv=.venv; lock=requirements.lock ;;
  dagster|airflow) venv=".venv-$extra"; lock="requirements-$extra.lock" ;;
  *) echo "bootstrap: unknown extra '$extra'; use no argument (core), dagster or airflow" >&2; exit 2 ;;
esac
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' 2>/dev/null; then
  echo "bootstrap: need Python 3.11 or 3.12 as \$PYTHON or python3 (found: $("$PY" --version 2>&1))" >&2
  exit 2
fi
stamp="$venv/.installed-$(cat "$lock" pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing pinned dependencies ($lock) into $venv (first run takes about a minute)" >&2
  started=$(date +%s)
  [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
  log="$venv/bootstrap.log"
  : > "$log"
  for args in "--upgrade pip" "-r $lock" "--no-deps -e ."; do
    # shellcheck disable=SC2086
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check $args >>"$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "bootstrap: 'pip install $args' into $venv failed; full log in $log" >&2
      exit 1
    fi
  done
  rm -f "$venv"/.installed-*
  touch "$stamp"
  echo "bootstrap: $venv ready in $(( $(date +%s) - started )) s" >&2
fi
