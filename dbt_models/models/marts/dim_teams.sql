-- One row per (tenant, team) with its place in the hierarchy: parent, root, depth and the path from the root.
-- A ParentTeamId naming no team the warehouse holds (partial history) ends the chain there: the team is
-- placed at the top, flagged by parent_team_missing.
with teams as (
    select * from {{ ref('stg_litmos__teams') }}
),

ancestors as (
    select
        ancestors.tenant,
        ancestors.team_id,
        ancestors.ancestor_team_id,
        ancestors.levels_up,
        teams.team_name as ancestor_name
    from {{ ref('int_team_ancestors') }} as ancestors
    inner join teams on teams.tenant = ancestors.tenant and teams.team_id = ancestors.ancestor_team_id
),

paths as (
    select
        tenant,
        team_id,
        max(levels_up) as depth,
        string_agg(ancestor_name, ' > ' order by levels_up desc) as team_path,
        string_agg(ancestor_team_id, '/' order by levels_up desc) as team_id_path
    from ancestors
    group by tenant, team_id
),

roots as (
    select ancestors.tenant, ancestors.team_id, ancestors.ancestor_team_id as root_team_id
    from ancestors
    inner join paths
        on paths.tenant = ancestors.tenant and paths.team_id = ancestors.team_id and paths.depth = ancestors.levels_up
),

members as (
    select tenant, team_id, count(*) as active_member_count
    from {{ ref('stg_litmos__team_users') }}
    where is_active
    group by tenant, team_id
)

select
    teams.tenant,
    teams.team_id,
    teams.original_team_id,
    teams.team_name,
    teams.team_code_for_bulk_import as team_code,
    teams.is_active,
    parent.team_id as parent_team_id,
    parent.team_name as parent_team_name,
    teams.parent_team_id is not null and parent.team_id is null as parent_team_missing,
    roots.root_team_id,
    paths.depth,
    paths.team_path,
    paths.team_id_path,
    coalesce(members.active_member_count, 0) as active_member_count,
    teams.created_date as created_at,
    teams.updated_date as updated_at
from teams
inner join paths on paths.tenant = teams.tenant and paths.team_id = teams.team_id
inner join roots on roots.tenant = teams.tenant and roots.team_id = teams.team_id
left join teams as parent on parent.tenant = teams.tenant and parent.team_id = teams.parent_team_id
left join members on members.tenant = teams.tenant and members.team_id = teams.team_id
