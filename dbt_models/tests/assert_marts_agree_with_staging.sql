-- Integrity: counts in the marts agree with counts taken straight from staging (or, for statuses, with
-- the dates the status rules read). Returns the checks that disagree (none = pass). Every check compares
-- two independent computations, so each can fail: tests/dbt/test_marts.py corrupts one mart row per check
-- and sees that check returned.
{%- set statuses = ['compliant', 'expiring_soon', 'expired', 'overdue', 'not_completed'] %}
{%- set expiry_horizon = add_days('as_of_date', 'expiring_soon_days') %}
{%- set status_rules = {
    'expired': 'compliant_till_date < as_of_date',
    'expiring_soon': 'compliant_till_date >= as_of_date and compliant_till_date <= ' ~ expiry_horizon,
    'compliant': 'compliant_till_date > ' ~ expiry_horizon ~ ' or (compliant_till_date is null and is_completed)',
    'overdue': 'compliant_till_date is null and not is_completed and due_date < as_of_date',
    'not_completed': 'compliant_till_date is null and not is_completed and (due_date is null or due_date >= as_of_date)',
} %}
-- The summary's definition of a team-scope member, written from staging on purpose (not read from
-- int_active_team_memberships, which the marts use): active link, team held and active, user not deactivated.
with staged_members as (
    select tu.team_id, tu.user_id, u.user_id is null as user_missing
    from {{ ref('stg_litmos__team_users') }} as tu
    inner join {{ ref('stg_litmos__teams') }} as t on t.team_id = tu.team_id and t.is_active
    left join {{ ref('stg_litmos__users') }} as u on u.user_id = tu.user_id
    where tu.is_active and coalesce(u.is_active, true)
),

checks as (
    select 'dim_users rows = staged users' as check_name,
        (select count(*) from {{ ref('dim_users') }}) as mart_count,
        (select count(*) from {{ ref('stg_litmos__users') }}) as staging_count
    union all
    select 'dim_courses rows = staged courses',
        (select count(*) from {{ ref('dim_courses') }}),
        (select count(*) from {{ ref('stg_litmos__courses') }})
    union all
    select 'dim_teams rows = staged teams',
        (select count(*) from {{ ref('dim_teams') }}),
        (select count(*) from {{ ref('stg_litmos__teams') }})
    union all
    select 'dim_learning_paths rows = staged learning paths',
        (select count(*) from {{ ref('dim_learning_paths') }}),
        (select count(*) from {{ ref('stg_litmos__learning_paths') }})
    union all
    select 'fct_course_completion rows with a result = active staged course results',
        (select count(*) from {{ ref('fct_course_completion') }} where has_result),
        (select count(*) from {{ ref('stg_litmos__course_results') }} where is_active)
    union all
    select 'fct_course_completion direct assignments = active staged user_courses',
        (select count(*) from {{ ref('fct_course_completion') }} where is_assigned_direct),
        (select count(*) from {{ ref('stg_litmos__user_courses') }} where is_active)
    union all
    select 'fct_course_completion completed = completed active staged results',
        (select count(*) from {{ ref('fct_course_completion') }} where is_completed),
        (select count(*) from {{ ref('stg_litmos__course_results') }} where is_active and completed)
    union all
    select 'fct_learning_path_completion rows with a result = active staged learning path results',
        (select count(*) from {{ ref('fct_learning_path_completion') }} where has_result),
        (select count(*) from {{ ref('stg_litmos__learning_path_results') }} where is_active)
    union all
    select 'fct_learning_path_completion direct assignments = active staged learning_path_users of paths not deactivated',
        (select count(*) from {{ ref('fct_learning_path_completion') }} where is_assigned_direct),
        (select count(*) from {{ ref('stg_litmos__learning_path_users') }} as lpu
            left join {{ ref('stg_litmos__learning_paths') }} as lp on lp.learning_path_id = lpu.learning_path_id
            where lpu.is_active and coalesce(lp.is_active, true))
    union all
    select 'team_compliance_summary team-scope members = active memberships (active team, user not deactivated)',
        (select coalesce(sum(member_count), 0) from {{ ref('team_compliance_summary') }} where scope = 'team'),
        (select count(*) from staged_members)
    union all
    select 'team_compliance_summary team-scope missing users = active memberships (active team) of users not held',
        (select coalesce(sum(user_missing_count), 0) from {{ ref('team_compliance_summary') }} where scope = 'team'),
        (select count(*) from staged_members where user_missing)
    union all
    select 'fct_course_completion rows flagged course_missing = rows whose course is not in dim_courses',
        (select count(*) from {{ ref('fct_course_completion') }} where course_missing),
        (select count(*) from {{ ref('fct_course_completion') }} as f
            where not exists (select 1 from {{ ref('dim_courses') }} as d where d.course_id = f.course_id))
    union all
    select 'fct_course_completion rows flagged user_missing = rows whose user is not in dim_users',
        (select count(*) from {{ ref('fct_course_completion') }} where user_missing),
        (select count(*) from {{ ref('fct_course_completion') }} as f
            where not exists (select 1 from {{ ref('dim_users') }} as d where d.user_id = f.user_id))
    {%- for status in statuses %}
    union all
    select 'team_compliance_summary team-scope {{ status }} rows = {{ status }} fct_compliance rows of the members',
        (select coalesce(sum({{ status }}_count), 0) from {{ ref('team_compliance_summary') }} where scope = 'team'),
        (select count(*) from staged_members
            inner join {{ ref('fct_compliance') }} as c on c.user_id = staged_members.user_id
            where c.compliance_status = '{{ status }}')
    union all
    select 'fct_compliance {{ status }} rows = rows whose dates say {{ status }}',
        (select count(*) from {{ ref('fct_compliance') }} where compliance_status = '{{ status }}'),
        (select count(*) from {{ ref('fct_compliance') }} where {{ status_rules[status] }})
    {%- endfor %}
)

select * from checks
where mart_count <> staging_count
    or (mart_count is null) <> (staging_count is null)
