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
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  echo "bootstrap: installing pinned dependencies into .venv (once)" >&2
  pipq() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v -e "is ignored: it is neither" -e "BuildBackendWarning" >&2); }
  pipq --upgrade pip
  pipq -r requirements.lock
  pipq --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
