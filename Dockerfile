# Nightly litmos-sync job: `docker run --env-file litmos.env -v litmos-data:/data litmos-sync`
# Config by environment only (see docs/configuration.md); the API key is passed at run time, never baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# Pinned dependencies first: this layer is reused until requirements.lock changes.
COPY requirements.lock /app/requirements.lock
RUN python -m venv /opt/venv \
    && pip install -r /app/requirements.lock \
    && useradd --create-home --uid 10001 --user-group litmos \
    && mkdir -p /data \
    && chown litmos:litmos /data

COPY pyproject.toml README.md /app/
COPY sources /app/sources
COPY pipelines /app/pipelines
COPY litmos_sim /app/litmos_sim
COPY dbt_models /app/dbt_models
# Editable install: the package finds dbt_models/ next to it. dbt writes target/ and logs/ into the
# project directory, so that one directory belongs to the runtime user.
RUN pip install --no-deps -e /app && chown -R litmos:litmos /app/dbt_models

USER litmos
WORKDIR /data
VOLUME ["/data"]

# Defaults for a container: DuckDB file and pipeline state on the /data volume.
# For Postgres: --destination postgres and DESTINATION__POSTGRES__CREDENTIALS=postgresql://...
ENV DESTINATION__DUCKDB__CREDENTIALS=/data/litmos.duckdb \
    SOURCES__LITMOS__BASE_URL=https://api.litmos.com/v1.svc \
    SOURCES__LITMOS__SOURCE=litmos-sync

# Working directory /data: pipeline state in /data/state, optional dlt config in /data/.dlt/.
ENTRYPOINT ["litmos-sync", "run"]
CMD ["--log-format", "json"]
