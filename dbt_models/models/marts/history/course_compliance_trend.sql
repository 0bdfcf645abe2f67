{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['tenant', 'grain', 'period_start'],
    )
}}
-- Compliance counts and rates per (tenant, grain, period, course) over the fct_compliance_daily rows of
-- each period's last snapshot day (period_end_date); a course appears in a period when that day holds a
-- row of it. Derived from the snapshot alone, so --full-refresh rebuilds it identically.
-- Incremental: each build (re)computes the periods holding as_of_date (macro history_periods).
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
        snapshot.course_id,
        {{ trend_counts('snapshot') }}
    from snapshot
    group by snapshot.tenant, snapshot.snapshot_date, snapshot.course_id
)

select
    periods.tenant,
    periods.grain,
    periods.period_start,
    periods.period_end_date,
    counts.course_id,
    {%- for column in trend_count_names() %}
    counts.{{ column }},
    {%- endfor %}
    {{ trend_rates('counts') }},
    periods.is_reconstructed
from periods
inner join counts on counts.tenant = periods.tenant and counts.snapshot_date = periods.period_end_date
