-- Integrity: counts in the marts agree with counts taken straight from staging (or, for statuses, with
-- the dates the status rules read), per tenant. Returns the (check, tenant) pairs that disagree (none =
-- pass). Every check compares two independent computations, so each can fail: tests/dbt/test_marts.py
-- corrupts one mart row per check and sees that check returned.
{%- set statuses = ['compliant', 'expiring_soon', 'expired', 'overdue', 'not_completed'] %}
{%- set expiry_horizon = add_days('as_of_date', 'expiring_soon_days') %}
{%- set status_rules = {
    'expired': 'compliant_till_date < as_of_date',
    'expiring_soon': 'compliant_till_date >= as_of_date and compliant_till_date <= ' ~ expiry_horizon,
    'compliant': 'compliant_till_date > ' ~ expiry_horizon ~ ' or (compliant_till_date is null and is_completed)',
    'overdue': 'compliant_till_date is null and not is_completed and due_date < as_of_date',
    'not_completed': 'compliant_till_date is null and not is_completed and (due_date is null or due_date >= as_of_date)',
} %}
{#- Rows of `relation` (alias x) of the tenant of the current check row. -#}
{%- set of_tenant = 'x.tenant = tenants.tenant' %}
-- The summary's definition of a team-scope member, written from staging on purpose (not read from
-- int_active_team_memberships, which the marts use): active link, team held and active, user not deactivated.
with staged_members as (
    select tu.tenant, tu.team_id, tu.user_id, u.user_id is null as user_missing
    from {{ ref('stg_litmos__team_users') }} as tu
    inner join {{ ref('stg_litmos__teams') }} as t on t.tenant = tu.tenant and t.team_id = tu.team_id and t.is_active
    left join {{ ref('stg_litmos__users') }} as u on u.tenant = tu.tenant and u.user_id = tu.user_id
    where tu.is_active and coalesce(u.is_active, true)
),

tenants as (
    {{ litmos_tenant_values() }}
),

checks as (
    select 'dim_users rows = staged users' as check_name, tenants.tenant,
        (select count(*) from {{ ref('dim_users') }} as x where {{ of_tenant }}) as mart_count,
        (select count(*) from {{ ref('stg_litmos__users') }} as x where {{ of_tenant }}) as staging_count
    from tenants
    union all
    select 'dim_courses rows = staged courses', tenants.tenant,
        (select count(*) from {{ ref('dim_courses') }} as x where {{ of_tenant }}),
        (select count(*) from {{ ref('stg_litmos__courses') }} as x where {{ of_tenant }})
    from tenants
    union all
    select 'dim_teams rows = staged teams', tenants.tenant,
        (select count(*) from {{ ref('dim_teams') }} as x where {{ of_tenant }}),
        (select count(*) from {{ ref('stg_litmos__teams') }} as x where {{ of_tenant }})
    from tenants
    union all
    select 'dim_learning_paths rows = staged learning paths', tenants.tenant,
        (select count(*) from {{ ref('dim_learning_paths') }} as x where {{ of_tenant }}),
        (select count(*) from {{ ref('stg_litmos__learning_paths') }} as x where {{ of_tenant }})
    from tenants
    union all
    select 'fct_course_completion rows with a result = active staged course results', tenants.tenant,
        (select count(*) from {{ ref('fct_course_completion') }} as x where {{ of_tenant }} and has_result),
        (select count(*) from {{ ref('stg_litmos__course_results') }} as x where {{ of_tenant }} and is_active)
    from tenants
    union all
    select 'fct_course_completion direct assignments = active staged user_courses', tenants.tenant,
        (select count(*) from {{ ref('fct_course_completion') }} as x where {{ of_tenant }} and is_assigned_direct),
        (select count(*) from {{ ref('stg_litmos__user_courses') }} as x where {{ of_tenant }} and is_active)
    from tenants
    union all
    select 'fct_course_completion completed = completed active staged results', tenants.tenant,
        (select count(*) from {{ ref('fct_course_completion') }} as x where {{ of_tenant }} and is_completed),
        (select count(*) from {{ ref('stg_litmos__course_results') }} as x
            where {{ of_tenant }} and is_active and completed)
    from tenants
    union all
    select 'fct_learning_path_completion rows with a result = active staged learning path results', tenants.tenant,
        (select count(*) from {{ ref('fct_learning_path_completion') }} as x where {{ of_tenant }} and has_result),
        (select count(*) from {{ ref('stg_litmos__learning_path_results') }} as x where {{ of_tenant }} and is_active)
    from tenants
    union all
    select 'fct_learning_path_completion direct assignments = active staged learning_path_users of paths not deactivated', tenants.tenant,
        (select count(*) from {{ ref('fct_learning_path_completion') }} as x where {{ of_tenant }} and is_assigned_direct),
        (select count(*) from {{ ref('stg_litmos__learning_path_users') }} as x
            left join {{ ref('stg_litmos__learning_paths') }} as lp
                on lp.tenant = x.tenant and lp.learning_path_id = x.learning_path_id
            where {{ of_tenant }} and x.is_active and coalesce(lp.is_active, true))
    from tenants
    union all
    select 'team_compliance_summary team-scope members = active memberships (active team, user not deactivated)', tenants.tenant,
        (select coalesce(sum(member_count), 0) from {{ ref('team_compliance_summary') }} as x
            where {{ of_tenant }} and scope = 'team'),
        (select count(*) from staged_members as x where {{ of_tenant }})
    from tenants
    union all
    select 'team_compliance_summary team-scope missing users = active memberships (active team) of users not held', tenants.tenant,
        (select coalesce(sum(user_missing_count), 0) from {{ ref('team_compliance_summary') }} as x
            where {{ of_tenant }} and scope = 'team'),
        (select count(*) from staged_members as x where {{ of_tenant }} and user_missing)
    from tenants
    union all
    select 'fct_course_completion rows flagged course_missing = rows whose course is not in dim_courses', tenants.tenant,
        (select count(*) from {{ ref('fct_course_completion') }} as x where {{ of_tenant }} and course_missing),
        (select count(*) from {{ ref('fct_course_completion') }} as x
            where {{ of_tenant }} and not exists (
                select 1 from {{ ref('dim_courses') }} as d where d.tenant = x.tenant and d.course_id = x.course_id))
    from tenants
    union all
    select 'fct_course_completion rows flagged user_missing = rows whose user is not in dim_users', tenants.tenant,
        (select count(*) from {{ ref('fct_course_completion') }} as x where {{ of_tenant }} and user_missing),
        (select count(*) from {{ ref('fct_course_completion') }} as x
            where {{ of_tenant }} and not exists (
                select 1 from {{ ref('dim_users') }} as d where d.tenant = x.tenant and d.user_id = x.user_id))
    from tenants
    {%- for status in statuses %}
    union all
    select 'team_compliance_summary team-scope {{ status }} rows = {{ status }} fct_compliance rows of the members', tenants.tenant,
        (select coalesce(sum({{ status }}_count), 0) from {{ ref('team_compliance_summary') }} as x
            where {{ of_tenant }} and scope = 'team'),
        (select count(*) from staged_members as x
            inner join {{ ref('fct_compliance') }} as c on c.tenant = x.tenant and c.user_id = x.user_id
            where {{ of_tenant }} and c.compliance_status = '{{ status }}')
    from tenants
    union all
    select 'fct_compliance {{ status }} rows = rows whose dates say {{ status }}', tenants.tenant,
        (select count(*) from {{ ref('fct_compliance') }} as x where {{ of_tenant }} and compliance_status = '{{ status }}'),
        (select count(*) from {{ ref('fct_compliance') }} as x where {{ of_tenant }} and ({{ status_rules[status] }}))
    from tenants
    {%- endfor %}
)

select * from checks
where mart_count <> staging_count
    or (mart_count is null) <> (staging_count is null)
