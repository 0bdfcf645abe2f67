-- One row per (tenant, user, learning path) that is effectively assigned (directly or through a team) or has an
-- active learning-path result. The API gives learning-path results no due date, so there is no overdue.
-- Users and learning paths are LEFT joined: a row whose user or learning path the warehouse does not hold
-- (partial history) is kept, flagged by user_missing / learning_path_missing.
with assignments as (
    select
        tenant,
        user_id,
        learning_path_id,
        bool_or(assigned_via = 'direct') as is_assigned_direct,
        bool_or(assigned_via = 'team') as is_assigned_via_team,
        min(assigned_at) as first_assigned_at
    from {{ ref('int_learning_path_assignments') }}
    group by tenant, user_id, learning_path_id
),

results as (
    select * from {{ ref('stg_litmos__learning_path_results') }} where is_active
),

pairs as (
    select tenant, user_id, learning_path_id from assignments
    union
    select tenant, user_id, learning_path_id from results
),

joined as (
    select
        pairs.tenant,
        pairs.user_id,
        pairs.learning_path_id,
        assignments.user_id is not null as is_assigned,
        coalesce(assignments.is_assigned_direct, false) as is_assigned_direct,
        coalesce(assignments.is_assigned_via_team, false) as is_assigned_via_team,
        assignments.first_assigned_at,
        results.learning_path_id is not null as has_result,
        results.start_date as started_at,
        results.finish_date as completed_at,
        coalesce(results.completed, false) as is_completed,
        coalesce(results.percentage_complete, 0) as percentage_complete,
        {{ utc_date('results.compliant_till_date') }} as compliant_till_date,
        users.is_active as is_user_active,
        learning_paths.is_active as is_learning_path_active,
        users.user_id is null as user_missing,
        learning_paths.learning_path_id is null as learning_path_missing,
        {{ as_of_date() }} as as_of_date
    from pairs
    left join assignments
        on assignments.tenant = pairs.tenant and assignments.user_id = pairs.user_id
        and assignments.learning_path_id = pairs.learning_path_id
    left join results
        on results.tenant = pairs.tenant and results.user_id = pairs.user_id
        and results.learning_path_id = pairs.learning_path_id
    left join {{ ref('stg_litmos__users') }} as users on users.tenant = pairs.tenant and users.user_id = pairs.user_id
    left join {{ ref('stg_litmos__learning_paths') }} as learning_paths
        on learning_paths.tenant = pairs.tenant and learning_paths.learning_path_id = pairs.learning_path_id
)

select
    tenant || '|' || user_id || '|' || learning_path_id as user_learning_path_key,
    tenant,
    user_id,
    learning_path_id,
    case
        when is_assigned_direct then 'direct'
        when is_assigned_via_team then 'team'
        else 'unassigned'
    end as assigned_via,
    is_assigned,
    is_assigned_direct,
    is_assigned_via_team,
    first_assigned_at,
    has_result,
    started_at,
    completed_at,
    is_completed,
    percentage_complete,
    case
        when is_completed and completed_at is not null
            then {{ days_between(utc_date('coalesce(started_at, first_assigned_at)'), utc_date('completed_at')) }}
    end as days_to_complete,
    compliant_till_date,
    is_user_active,
    is_learning_path_active,
    user_missing,
    learning_path_missing,
    as_of_date
from joined
