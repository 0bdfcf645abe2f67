{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['tenant', 'grain', 'period_start'],
    )
}}
-- Org-wide compliance counts and rates per (tenant, grain, period) over every fct_compliance_daily row of
-- each period's last snapshot day (period_end_date). Derived from the snapshot alone, so --full-refresh
-- rebuilds it identically. Incremental: each build (re)computes the periods holding as_of_date.
with periods as (
    {{ history_periods() }}
),

snapshot as (
    select *
    from {{ ref('fct_compliance_daily') }}
    where {{ history_snapshot_window() }}
        and snapshot_date in (select period_end_date from periods)
),

counts as (
    select
        snapshot.tenant,
        snapshot.snapshot_date,
        {{ trend_counts('snapshot') }}
    from snapshot
    group by snapshot.tenant, snapshot.snapshot_date
),

filled as (
    select
        periods.tenant,
        periods.grain,
        periods.period_start,
        periods.period_end_date,
        {{ trend_filled_counts('counts') }}
        periods.is_reconstructed
    from periods
    left join counts on counts.tenant = periods.tenant and counts.snapshot_date = periods.period_end_date
)

select
    tenant,
    grain,
    period_start,
    period_end_date,
    {%- for column in trend_count_names() %}
    {{ column }},
    {%- endfor %}
    {{ trend_rates('filled') }},
    is_reconstructed
from filled
