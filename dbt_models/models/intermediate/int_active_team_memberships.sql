-- Active team memberships: one row per (tenant, team, user) whose /org/teams/users link is active, of a team that
-- is not deactivated. A team the warehouse does not hold (partial history) is not evidence of a
-- deactivation: its links still count, flagged by team_missing. Whether the user is held is the reader's
-- concern (dim_users counts every membership, team_compliance_summary skips deactivated users).
select
    memberships.tenant,
    memberships.team_id,
    memberships.user_id,
    memberships.created_date,
    teams.team_id is null as team_missing
from {{ ref('stg_litmos__team_users') }} as memberships
left join {{ ref('stg_litmos__teams') }} as teams on teams.tenant = memberships.tenant and teams.team_id = memberships.team_id
where memberships.is_active and coalesce(teams.is_active, true)
