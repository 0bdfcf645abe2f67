#!/usr/bin/env bash
# Creates .venv with the pinned dependencies (requirements.lock) and the project installed in editable
# mode. Idempotent: reinstalls only when requirements.lock or pyproject.toml changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' 2>/dev/null; then
  echo "bootstrap: need Python 3.11 or 3.12 as \$PYTHON or python3 (found: $("$PY" --version 2>&1))" >&2
  exit 2
fi
stamp=".venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing pinned dependencies into .venv (first run takes about a minute)" >&2
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  log=".venv/bootstrap.log"
  : > "$log"
  for args in "--upgrade pip" "-r requirements.lock" "--no-deps -e ."; do
    # shellcheck disable=SC2086
    if ! .venv/bin/python -m pip install --disable-pip-version-check $args >>"$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "bootstrap: 'pip install $args' failed; full log in $log" >&2
      exit 1
    fi
  done
  rm -f .venv/.installed-*
  touch "$stamp"
fi
