-- Compliance counts and rates per (tenant, manager of dim_managers) at two scopes:
--   direct  the manager's direct reports (users whose ManagerId is the manager)
--   all     everyone below the manager through the ManagerId chain (int_manager_chain), each user once
-- Reports that are deactivated are not counted (as team_compliance_summary does for members); the chain
-- itself runs through deactivated managers. Counted rows are the reports' fct_compliance rows (user, course);
-- counts and rates are defined exactly as in team_compliance_summary.
with managers as (
    select * from {{ ref('dim_managers') }}
),

reports as (
    select chain.tenant, chain.manager_user_id, chain.user_id, chain.depth
    from {{ ref('int_manager_chain') }} as chain
    inner join {{ ref('stg_litmos__users') }} as users
        on users.tenant = chain.tenant and users.user_id = chain.user_id
    where users.is_active
),

scoped_reports as (
    select tenant, manager_user_id, 'direct' as scope, user_id from reports where depth = 1
    union all
    select tenant, manager_user_id, 'all' as scope, user_id from reports
),

scopes as (
    select tenant, manager_user_id, 'direct' as scope from managers
    union all
    select tenant, manager_user_id, 'all' as scope from managers
),

counts as (
    select
        scoped_reports.tenant,
        scoped_reports.manager_user_id,
        scoped_reports.scope,
        count(distinct scoped_reports.user_id) as report_count,
        count(compliance.user_course_key) as tracked_count,
        count(*) filter (where compliance.is_assigned) as assigned_count,
        count(*) filter (where compliance.is_completed) as completed_count,
        count(*) filter (where compliance.compliance_status = 'compliant') as compliant_count,
        count(*) filter (where compliance.compliance_status = 'expiring_soon') as expiring_soon_count,
        count(*) filter (where compliance.compliance_status = 'expired') as expired_count,
        count(*) filter (where compliance.compliance_status = 'overdue') as overdue_count,
        count(*) filter (where compliance.compliance_status = 'not_completed') as not_completed_count,
        count(*) filter (where compliance.course_missing) as course_missing_count
    from scoped_reports
    left join {{ ref('fct_compliance') }} as compliance
        on compliance.tenant = scoped_reports.tenant and compliance.user_id = scoped_reports.user_id
    group by scoped_reports.tenant, scoped_reports.manager_user_id, scoped_reports.scope
),

filled as (
    select
        scopes.tenant,
        scopes.manager_user_id,
        scopes.scope,
        {%- for column in ['report_count', 'tracked_count', 'assigned_count', 'completed_count', 'compliant_count',
                           'expiring_soon_count', 'expired_count', 'overdue_count', 'not_completed_count',
                           'course_missing_count'] %}
        cast(coalesce(counts.{{ column }}, 0) as bigint) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from scopes
    left join counts
        on counts.tenant = scopes.tenant and counts.manager_user_id = scopes.manager_user_id
        and counts.scope = scopes.scope
)

select
    filled.tenant,
    filled.tenant || '|' || filled.manager_user_id || ':' || filled.scope as manager_scope_key,
    filled.manager_user_id,
    managers.manager_name,
    managers.is_active as is_manager_active,
    filled.scope,
    filled.report_count,
    filled.tracked_count,
    filled.assigned_count,
    filled.completed_count,
    filled.compliant_count,
    filled.expiring_soon_count,
    filled.expired_count,
    filled.overdue_count,
    filled.not_completed_count,
    filled.course_missing_count,
    cast(filled.completed_count as float8) / nullif(filled.tracked_count, 0) as completion_rate,
    cast(filled.compliant_count + filled.expiring_soon_count as float8) / nullif(filled.tracked_count, 0) as compliance_rate,
    cast(filled.expired_count as float8) / nullif(filled.tracked_count, 0) as expired_rate,
    cast(filled.overdue_count as float8) / nullif(filled.tracked_count, 0) as overdue_rate,
    {{ as_of_date() }} as as_of_date
from filled
inner join managers
    on managers.tenant = filled.tenant and managers.manager_user_id = filled.manager_user_id
