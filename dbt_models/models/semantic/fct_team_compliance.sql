-- The bridge MetricFlow reads to count fct_compliance rows per team: one row per (tenant, fct_compliance row,
-- team scope it counts in), with team membership exactly as team_compliance_summary defines it:
--   team     the row's user is an active member of the active team
--   rollup   ... of the team or of a team below it (active teams only, each row once per team)
--   no_team  the user counts in no team scope (team_id NULL): keeps every fct_compliance row in the bridge
-- Users belong to many teams, so a row appears under several teams: metrics over this model count DISTINCT
-- user_course_key, which gives the org-wide figure without a team group-by and each team's figure with one.
with teams as (
    select tenant, team_id from {{ ref('dim_teams') }} where is_active
),

scoped_members as (
    select tenant, team_id, scope, user_id from {{ ref('int_team_scope_members') }}
),

reported as (
    select scoped_members.*
    from scoped_members
    inner join teams on teams.tenant = scoped_members.tenant and teams.team_id = scoped_members.team_id
),

compliance as (
    select * from {{ ref('fct_compliance') }}
),

scoped as (
    select reported.tenant, reported.team_id, reported.scope, compliance.user_course_key
    from reported
    inner join compliance on compliance.tenant = reported.tenant and compliance.user_id = reported.user_id

    union all

    select compliance.tenant, cast(null as {{ dbt.type_string() }}) as team_id, 'no_team' as scope,
        compliance.user_course_key
    from compliance
    where not exists (
        select 1 from reported
        where reported.tenant = compliance.tenant and reported.user_id = compliance.user_id
    )
)

select
    scoped.tenant || '|' || scoped.user_course_key || '|' || scoped.scope || '|' || coalesce(scoped.team_id, '')
        as team_compliance_key,
    scoped.tenant,
    scoped.team_id,
    scoped.scope,
    compliance.user_course_key,
    compliance.user_id,
    compliance.course_id,
    compliance.compliance_status,
    compliance.is_assigned,
    compliance.is_completed,
    compliance.as_of_date
from scoped
inner join compliance
    on compliance.tenant = scoped.tenant and compliance.user_course_key = scoped.user_course_key
