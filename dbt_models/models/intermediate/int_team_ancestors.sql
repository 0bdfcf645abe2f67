-- Every (tenant, team, ancestor) pair of the team hierarchy, the team itself included at depth 0.
-- Walks ParentTeamId upwards; a parent id that names no known team ends the chain, and the
-- `visited` guard stops a cyclic hierarchy (bad data) instead of recursing forever.
with recursive teams as (
    select tenant, team_id, parent_team_id
    from {{ ref('stg_litmos__teams') }}
),

walk as (
    select
        tenant,
        team_id,
        team_id as ancestor_team_id,
        0 as depth,
        cast('/' || team_id || '/' as text) as visited
    from teams

    union all

    select
        walk.tenant,
        walk.team_id,
        parent.team_id as ancestor_team_id,
        walk.depth + 1 as depth,
        cast(walk.visited || parent.team_id || '/' as text) as visited
    from walk
    inner join teams as current_team
        on current_team.tenant = walk.tenant and current_team.team_id = walk.ancestor_team_id
    inner join teams as parent
        on parent.tenant = current_team.tenant and parent.team_id = current_team.parent_team_id
    where position('/' || parent.team_id || '/' in walk.visited) = 0
        and walk.depth < 100
)

select
    tenant,
    team_id,
    ancestor_team_id,
    depth as levels_up
from walk
