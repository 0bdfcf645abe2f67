-- Effective course assignments: one row per (tenant, user, course, way assigned, team, learning path).
--   direct             /org/users/courses (the API excludes team assignments there)
--   team               team membership x course assigned to the team (IsInTeamLibrary = false)
--   learning_path      direct learning-path assignment x course in that learning path
--   team_learning_path team learning-path assignment x course in that learning path
-- Inactive links never assign; a deactivated team or learning path assigns nothing. No parent-team
-- inheritance: the vendor docs give no evidence of it, so a user is assigned what their own teams are.
-- A team or learning path the warehouse does not hold (partial history) is not evidence of a
-- deactivation: its links still assign, flagged by team_missing / learning_path_missing.
with lp_courses as (
    select tenant, learning_path_id, course_id, created_date
    from {{ ref('stg_litmos__learning_path_courses') }}
    where is_active
),

direct as (
    select
        tenant,
        user_id,
        course_id,
        'direct' as assigned_via,
        cast(null as text) as via_team_id,
        cast(null as text) as via_learning_path_id,
        coalesce(created_date, updated_date) as assigned_at,
        false as team_missing,
        false as learning_path_missing
    from {{ ref('stg_litmos__user_courses') }}
    where is_active
),

through_team as (
    select
        memberships.tenant,
        memberships.user_id,
        tc.course_id,
        'team' as assigned_via,
        memberships.team_id as via_team_id,
        cast(null as text) as via_learning_path_id,
        greatest(memberships.created_date, tc.created_date) as assigned_at,
        memberships.team_missing,
        false as learning_path_missing
    from {{ ref('int_active_team_memberships') }} as memberships
    inner join {{ ref('stg_litmos__team_courses') }} as tc
        on tc.tenant = memberships.tenant and tc.team_id = memberships.team_id and tc.is_active and not tc.is_in_team_library
),

through_learning_path as (
    select
        lpa.tenant,
        lpa.user_id,
        lp_courses.course_id,
        case when lpa.assigned_via = 'team' then 'team_learning_path' else 'learning_path' end as assigned_via,
        lpa.via_team_id,
        lpa.learning_path_id as via_learning_path_id,
        greatest(lpa.assigned_at, lp_courses.created_date) as assigned_at,
        lpa.team_missing,
        lpa.learning_path_missing
    from {{ ref('int_learning_path_assignments') }} as lpa
    inner join lp_courses
        on lp_courses.tenant = lpa.tenant and lp_courses.learning_path_id = lpa.learning_path_id
)

select * from direct
union all
select * from through_team
union all
select * from through_learning_path
