-- Compliance counts and rates per (tenant, active team) at two scopes:
--   team    the team's own active members
--   rollup  the members of the team and of every team below it (each user counted once)
-- A member is an active team_users link to an active team for a user that is not deactivated. Counted
-- rows are fct_compliance rows (user, course) of those members. A user the warehouse does not hold
-- (partial history) still counts, and is counted again in user_missing_count; tracked rows whose course
-- the warehouse does not hold are counted in course_missing_count.
with teams as (
    select * from {{ ref('dim_teams') }} where is_active
),

scoped_members as (
    select * from {{ ref('int_team_scope_members') }}
),

scopes as (
    select tenant, team_id, 'team' as scope from teams
    union all
    select tenant, team_id, 'rollup' as scope from teams
),

counts as (
    select
        scoped_members.tenant,
        scoped_members.team_id,
        scoped_members.scope,
        count(distinct scoped_members.user_id) as member_count,
        count(distinct scoped_members.user_id) filter (where scoped_members.user_missing) as user_missing_count,
        count(compliance.user_course_key) as tracked_count,
        count(*) filter (where compliance.is_assigned) as assigned_count,
        count(*) filter (where compliance.is_completed) as completed_count,
        count(*) filter (where compliance.compliance_status = 'compliant') as compliant_count,
        count(*) filter (where compliance.compliance_status = 'expiring_soon') as expiring_soon_count,
        count(*) filter (where compliance.compliance_status = 'expired') as expired_count,
        count(*) filter (where compliance.compliance_status = 'overdue') as overdue_count,
        count(*) filter (where compliance.compliance_status = 'not_completed') as not_completed_count,
        count(*) filter (where compliance.course_missing) as course_missing_count
    from scoped_members
    left join {{ ref('fct_compliance') }} as compliance
        on compliance.tenant = scoped_members.tenant and compliance.user_id = scoped_members.user_id
    group by scoped_members.tenant, scoped_members.team_id, scoped_members.scope
),

filled as (
    select
        scopes.tenant,
        scopes.team_id,
        scopes.scope,
        {%- for column in ['member_count', 'tracked_count', 'assigned_count', 'completed_count', 'compliant_count',
                           'expiring_soon_count', 'expired_count', 'overdue_count', 'not_completed_count',
                           'user_missing_count', 'course_missing_count'] %}
        cast(coalesce(counts.{{ column }}, 0) as bigint) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from scopes
    left join counts
        on counts.tenant = scopes.tenant and counts.team_id = scopes.team_id and counts.scope = scopes.scope
)

select
    filled.tenant || '|' || filled.team_id || ':' || filled.scope as team_scope_key,
    filled.tenant,
    filled.team_id,
    teams.team_name,
    teams.team_path,
    teams.depth,
    filled.scope,
    filled.member_count,
    filled.tracked_count,
    filled.assigned_count,
    filled.completed_count,
    filled.compliant_count,
    filled.expiring_soon_count,
    filled.expired_count,
    filled.overdue_count,
    filled.not_completed_count,
    filled.user_missing_count,
    filled.course_missing_count,
    cast(filled.completed_count as float8) / nullif(filled.tracked_count, 0) as completion_rate,
    cast(filled.compliant_count + filled.expiring_soon_count as float8) / nullif(filled.tracked_count, 0) as compliance_rate,
    cast(filled.expired_count as float8) / nullif(filled.tracked_count, 0) as expired_rate,
    cast(filled.overdue_count as float8) / nullif(filled.tracked_count, 0) as overdue_rate,
    {{ as_of_date() }} as as_of_date
from filled
inner join teams on teams.tenant = filled.tenant and teams.team_id = filled.team_id
