-- The users each team reports on, at two scopes (one row per tenant, team, scope, user):
--   team    the team's own active members
--   rollup  the members of the team and of every team below it (each user once)
-- A member is an active membership (int_active_team_memberships) of a team the warehouse holds, for a
-- user that is not deactivated; a user the warehouse does not hold (partial history) counts, flagged by
-- user_missing. The one definition read by team_compliance_summary, team_compliance_trend and the
-- MetricFlow bridge fct_team_compliance.
with members as (
    select memberships.tenant, memberships.team_id, memberships.user_id, users.user_id is null as user_missing
    from {{ ref('int_active_team_memberships') }} as memberships
    left join {{ ref('stg_litmos__users') }} as users
        on users.tenant = memberships.tenant and users.user_id = memberships.user_id
    where not memberships.team_missing and coalesce(users.is_active, true)  -- only teams it reports on
)

select tenant, team_id, 'team' as scope, user_id, user_missing from members
union
select members.tenant, ancestors.ancestor_team_id as team_id, 'rollup' as scope, members.user_id, members.user_missing
from members
inner join {{ ref('int_team_ancestors') }} as ancestors
    on ancestors.tenant = members.tenant and ancestors.team_id = members.team_id
