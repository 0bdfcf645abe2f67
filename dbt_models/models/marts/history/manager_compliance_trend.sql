{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['tenant', 'grain', 'period_start'],
        full_refresh=false,
    )
}}
-- Compliance counts and rates per (tenant, grain, period, manager, scope) on the period's last snapshot
-- day (period_end_date), as manager_compliance_summary counts them over fct_compliance_daily:
--   direct  the manager's direct reports      all  everyone below the manager through the ManagerId chain
-- Managers (dim_managers), the chain (int_manager_chain) and which reports are active are those of the
-- build that computed the period, so past days keep the reporting lines as they were; full_refresh is
-- off for that reason. Incremental: each build (re)computes the periods holding as_of_date.
with periods as (
    {{ history_periods() }}
),

managers as (
    select tenant, manager_user_id from {{ ref('dim_managers') }}
),

reports as (
    select chain.tenant, chain.manager_user_id, chain.user_id, chain.depth
    from {{ ref('int_manager_chain') }} as chain
    inner join {{ ref('stg_litmos__users') }} as users
        on users.tenant = chain.tenant and users.user_id = chain.user_id
    where users.is_active
),

scoped_reports as (
    select tenant, manager_user_id, 'direct' as scope, user_id from reports where depth = 1
    union all
    select tenant, manager_user_id, 'all' as scope, user_id from reports
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
        scoped_reports.manager_user_id,
        scoped_reports.scope,
        {{ trend_counts('snapshot') }}
    from snapshot
    inner join scoped_reports
        on scoped_reports.tenant = snapshot.tenant and scoped_reports.user_id = snapshot.user_id
    group by snapshot.tenant, snapshot.snapshot_date, scoped_reports.manager_user_id, scoped_reports.scope
),

grid as (
    select periods.*, managers.manager_user_id, scopes.scope
    from periods
    inner join managers on managers.tenant = periods.tenant
    cross join (select 'direct' as scope union all select 'all' as scope) as scopes
),

filled as (
    select
        grid.tenant,
        grid.grain,
        grid.period_start,
        grid.period_end_date,
        grid.manager_user_id,
        grid.scope,
        {{ trend_filled_counts('counts') }}
        grid.is_reconstructed
    from grid
    left join counts
        on counts.tenant = grid.tenant and counts.snapshot_date = grid.period_end_date
        and counts.manager_user_id = grid.manager_user_id and counts.scope = grid.scope
)

select
    tenant,
    grain,
    period_start,
    period_end_date,
    manager_user_id,
    scope,
    {%- for column in trend_count_names() %}
    {{ column }},
    {%- endfor %}
    {{ trend_rates('filled') }},
    is_reconstructed
from filled
