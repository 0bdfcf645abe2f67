-- Effective learning-path assignments: one row per (tenant, user, learning path, way assigned, team).
-- direct = /org/learningpaths/users; team = a team membership x a learning path assigned to that team
-- (IsInTeamLibrary = false; library-only links do not assign). Every link must be active and the team
-- and the learning path must not be deactivated; members of sub-teams do NOT inherit a parent team's
-- assignments. A team or learning path the warehouse does not hold (partial history: last updated before
-- the first sync's start date) is not evidence of a deactivation: its links still assign, flagged by
-- team_missing / learning_path_missing.
with learning_paths as (
    select tenant, learning_path_id, is_active from {{ ref('stg_litmos__learning_paths') }}
),

direct as (
    select
        lpu.tenant,
        lpu.user_id,
        lpu.learning_path_id,
        'direct' as assigned_via,
        cast(null as text) as via_team_id,
        coalesce(lpu.created_date, lpu.updated_date) as assigned_at,
        false as team_missing,
        learning_paths.learning_path_id is null as learning_path_missing
    from {{ ref('stg_litmos__learning_path_users') }} as lpu
    left join learning_paths
        on learning_paths.tenant = lpu.tenant and learning_paths.learning_path_id = lpu.learning_path_id
    where lpu.is_active and coalesce(learning_paths.is_active, true)
),

through_team as (
    select
        memberships.tenant,
        memberships.user_id,
        tlp.learning_path_id,
        'team' as assigned_via,
        memberships.team_id as via_team_id,
        greatest(memberships.created_date, tlp.created_date) as assigned_at,
        memberships.team_missing,
        learning_paths.learning_path_id is null as learning_path_missing
    from {{ ref('int_active_team_memberships') }} as memberships
    inner join {{ ref('stg_litmos__team_learning_paths') }} as tlp
        on tlp.tenant = memberships.tenant and tlp.team_id = memberships.team_id and tlp.is_active and not tlp.is_in_team_library
    left join learning_paths
        on learning_paths.tenant = tlp.tenant and learning_paths.learning_path_id = tlp.learning_path_id
    where coalesce(learning_paths.is_active, true)
)

select * from direct
union all
select * from through_team
