{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_key',
        full_refresh=false,
    )
}}
-- Compliance counts and rates per (tenant, grain, period, active team, scope), the team_compliance_summary
-- of each period's last snapshot day (period_end_date) over fct_compliance_daily:
--   team    the team's own active members      rollup  the team's and every team below it (each user once)
-- Members and teams are those of the build that wrote the period (int_active_team_memberships,
-- int_team_ancestors, dim_teams as loaded that night), so a past day keeps the teams as they were.
-- Hence full_refresh = false: rebuilding would re-attribute the past to today's teams.
-- Incremental: each build (re)computes the periods holding as_of_date (macro history_periods).
with periods as (
    {{ history_periods() }}
),

teams as (
    select tenant, team_id from {{ ref('dim_teams') }} where is_active
),

scoped_members as (
    select tenant, team_id, scope, user_id from {{ ref('int_team_scope_members') }}
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
        scoped_members.team_id,
        scoped_members.scope,
        {{ trend_counts('snapshot') }}
    from snapshot
    inner join scoped_members
        on scoped_members.tenant = snapshot.tenant and scoped_members.user_id = snapshot.user_id
    group by snapshot.tenant, snapshot.snapshot_date, scoped_members.team_id, scoped_members.scope
),

grid as (
    select periods.*, teams.team_id, scopes.scope
    from periods
    inner join teams on teams.tenant = periods.tenant
    cross join (select 'team' as scope union all select 'rollup' as scope) as scopes
),

filled as (
    select
        grid.tenant,
        grid.grain,
        grid.period_start,
        grid.period_end_date,
        grid.team_id,
        grid.scope,
        {{ trend_filled_counts('counts') }}
        grid.is_reconstructed
    from grid
    left join counts
        on counts.tenant = grid.tenant and counts.snapshot_date = grid.period_end_date
        and counts.team_id = grid.team_id and counts.scope = grid.scope
)

select
    tenant,
    grain,
    period_start,
    period_end_date,
    team_id,
    scope,
    {%- for column in trend_count_names() %}
    {{ column }},
    {%- endfor %}
    {{ trend_rates('filled') }},
    is_reconstructed,
    {{ trend_period_key('filled') }} as period_key
from filled
