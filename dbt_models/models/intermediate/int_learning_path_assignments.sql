-- Effective learning-path assignments: one row per (user, learning path, way assigned, team).
-- direct = /org/learningpaths/users; team = a team membership x a learning path assigned to that team
-- (IsInTeamLibrary = false; library-only links do not assign). Every link must be active and so must the
-- team and the learning path; members of sub-teams do NOT inherit a parent team's assignments.
with learning_paths as (
    select learning_path_id from {{ ref('stg_litmos__learning_paths') }} where is_active
),

direct as (
    select
        lpu.user_id,
        lpu.learning_path_id,
        'direct' as assigned_via,
        cast(null as text) as via_team_id,
        coalesce(lpu.created_date, lpu.updated_date) as assigned_at
    from {{ ref('stg_litmos__learning_path_users') }} as lpu
    inner join learning_paths on learning_paths.learning_path_id = lpu.learning_path_id
    where lpu.is_active
),

through_team as (
    select
        tu.user_id,
        tlp.learning_path_id,
        'team' as assigned_via,
        tu.team_id as via_team_id,
        greatest(tu.created_date, tlp.created_date) as assigned_at
    from {{ ref('stg_litmos__team_users') }} as tu
    inner join {{ ref('stg_litmos__teams') }} as teams
        on teams.team_id = tu.team_id and teams.is_active
    inner join {{ ref('stg_litmos__team_learning_paths') }} as tlp
        on tlp.team_id = tu.team_id and tlp.is_active and not tlp.is_in_team_library
    inner join learning_paths on learning_paths.learning_path_id = tlp.learning_path_id
    where tu.is_active
)

select * from direct
union all
select * from through_team
