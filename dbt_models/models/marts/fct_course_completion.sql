-- One row per (tenant, user, course) that is effectively assigned (any way) or has an active course result.
-- Dates are UTC dates; "overdue" is evaluated at var as_of_date.
-- Users and courses are LEFT joined: a row whose user or course the warehouse does not hold (partial
-- history) is kept, flagged by user_missing / course_missing.
with assignments as (
    select
        tenant,
        user_id,
        course_id,
        bool_or(assigned_via = 'direct') as is_assigned_direct,
        bool_or(assigned_via = 'team') as is_assigned_via_team,
        bool_or(assigned_via = 'learning_path') as is_assigned_via_learning_path,
        bool_or(assigned_via = 'team_learning_path') as is_assigned_via_team_learning_path,
        min(assigned_at) as first_assigned_at
    from {{ ref('int_course_assignments') }}
    group by tenant, user_id, course_id
),

results as (
    select * from {{ ref('stg_litmos__course_results') }} where is_active
),

pairs as (
    select tenant, user_id, course_id from assignments
    union
    select tenant, user_id, course_id from results
),

joined as (
    select
        pairs.tenant,
        pairs.user_id,
        pairs.course_id,
        assignments.user_id is not null as is_assigned,
        coalesce(assignments.is_assigned_direct, false) as is_assigned_direct,
        coalesce(assignments.is_assigned_via_team, false) as is_assigned_via_team,
        coalesce(assignments.is_assigned_via_learning_path, false) as is_assigned_via_learning_path,
        coalesce(assignments.is_assigned_via_team_learning_path, false) as is_assigned_via_team_learning_path,
        assignments.first_assigned_at,
        results.course_id is not null as has_result,
        results.started_date as started_at,
        results.completed_date as completed_at,
        results.last_attempt_date as last_attempt_at,
        coalesce(results.completed, false) as is_completed,
        coalesce(results.percentage_complete, 0) as percentage_complete,
        {{ utc_date('results.due_date') }} as due_date,
        {{ utc_date('results.compliant_till_date') }} as result_compliant_till_date,
        results.overdue as litmos_overdue_flag,
        users.is_active as is_user_active,
        courses.is_active as is_course_active,
        users.user_id is null as user_missing,
        courses.course_id is null as course_missing,
        {{ as_of_date() }} as as_of_date
    from pairs
    left join assignments
        on assignments.tenant = pairs.tenant and assignments.user_id = pairs.user_id
        and assignments.course_id = pairs.course_id
    left join results
        on results.tenant = pairs.tenant and results.user_id = pairs.user_id and results.course_id = pairs.course_id
    left join {{ ref('stg_litmos__users') }} as users on users.tenant = pairs.tenant and users.user_id = pairs.user_id
    left join {{ ref('stg_litmos__courses') }} as courses
        on courses.tenant = pairs.tenant and courses.course_id = pairs.course_id
)

select
    tenant || '|' || user_id || '|' || course_id as user_course_key,
    tenant,
    user_id,
    course_id,
    case
        when is_assigned_direct then 'direct'
        when is_assigned_via_team then 'team'
        when is_assigned_via_learning_path then 'learning_path'
        when is_assigned_via_team_learning_path then 'team_learning_path'
        else 'unassigned'
    end as assigned_via,
    is_assigned,
    is_assigned_direct,
    is_assigned_via_team,
    is_assigned_via_learning_path,
    is_assigned_via_team_learning_path,
    first_assigned_at,
    has_result,
    started_at,
    completed_at,
    last_attempt_at,
    is_completed,
    percentage_complete,
    due_date,
    coalesce(not is_completed and due_date < as_of_date, false) as is_overdue,
    case
        when is_completed and completed_at is not null
            then {{ days_between(utc_date('coalesce(started_at, first_assigned_at)'), utc_date('completed_at')) }}
    end as days_to_complete,
    result_compliant_till_date,
    litmos_overdue_flag,
    is_user_active,
    is_course_active,
    user_missing,
    course_missing,
    as_of_date
from joined
