#!/usr/bin/env bash
# Nightly wrapper for cron: loads the environment file and runs litmos-sync.
# Usage: nightly.sh [extra `litmos-sync run` options]     (exit status = litmos-sync's)
# /etc/litmos-sync/env holds lines like:
#   SOURCES__LITMOS__API_KEY=...            (secret: chmod 600, owned by the litmos user)
#   SOURCES__LITMOS__SOURCE=acme-warehouse
#   SOURCES__LITMOS__BASE_URL=https://api.litmoseu.com/v1.svc
#   DESTINATION__POSTGRES__CREDENTIALS=postgresql://litmos:...@db:5432/analytics
#   LITMOS_SYNC_ARGS="--destination postgres"
set -euo pipefail
APP_DIR="${APP_DIR:-/opt/litmos-sync}"
ENV_FILE="${ENV_FILE:-/etc/litmos-sync/env}"
set -a
# shellcheck disable=SC1090
[ -r "$ENV_FILE" ] && . "$ENV_FILE"
set +a
cd "$APP_DIR"
# No lock here: `litmos-sync run` locks its own pipeline (<state dir>/.litmos.lock), against this job and
# against manual runs alike. If last night's run is still going, tonight's exits 2 at once with one line
# ("another run of this pipeline is in progress (pid N since T) ...") that cron mails, instead of
# queueing behind it or being skipped without a word.
exec "$APP_DIR/.venv/bin/litmos-sync" run ${LITMOS_SYNC_ARGS:-} "$@"
