{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['tenant', 'snapshot_date'],
    )
}}
-- One row per (tenant, snapshot day) of fct_compliance_daily: how many rows the day holds and whether it
-- was reconstructed. The trend marts find their periods here instead of scanning the snapshot. An
-- incremental build reads only the day this build wrote (var as_of_date); the first build (or
-- --full-refresh, which is safe: it is derived from the snapshot) reads every day.
select
    tenant,
    snapshot_date,
    count(*) as row_count,
    bool_or(is_reconstructed) as is_reconstructed
from {{ ref('fct_compliance_daily') }}
{%- if is_incremental() %}
where snapshot_date = {{ as_of_date() }}
{%- endif %}
group by tenant, snapshot_date
