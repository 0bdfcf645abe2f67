-- One row per (tenant, user, course) of fct_course_completion whose course has a compliance period
-- (CompliantTillDays > 0) or whose result carries a CompliantTillDate, for users and courses that are not
-- deactivated. A user or course the warehouse does not hold (partial history) is not evidence of a
-- deactivation: the row is kept and flagged (user_missing / course_missing); without the course its
-- compliance period is unknown, so only a result's CompliantTillDate brings such a row in.
-- Status rules (first match wins; dates are UTC dates, A = var as_of_date, N = var expiring_soon_days):
--   expired        compliant_till_date <  A
--   expiring_soon  A <= compliant_till_date <= A + N   (expires today = still valid today)
--   compliant      compliant_till_date >  A + N, or completed with no known expiry
--   overdue        not completed, no compliant_till_date, due_date < A  (due yesterday = overdue)
--   not_completed  everything else
-- compliant_till_date = the result's CompliantTillDate, else completion date + CompliantTillDays.
-- The rules are macro compliance_status (macros/history.sql), shared with fct_compliance_daily's
-- reconstructed days. as_of_date comes from the var (not the parent's column) so this model is reproducible on its own.
with completion as (
    select
        user_course_key,
        tenant,
        user_id,
        course_id,
        assigned_via,
        is_assigned,
        is_completed,
        completed_at,
        due_date,
        result_compliant_till_date,
        user_missing,
        course_missing,
        {{ as_of_date() }} as as_of_date
    from {{ ref('fct_course_completion') }}
    where coalesce(is_user_active, true) and coalesce(is_course_active, true)
),

courses as (
    select tenant, course_id, compliant_till_days from {{ ref('dim_courses') }}
),

scoped as (
    select
        completion.*,
        case when courses.compliant_till_days > 0 then courses.compliant_till_days end as compliance_period_days,
        coalesce(
            completion.result_compliant_till_date,
            case
                when completion.is_completed and completion.completed_at is not null
                    and courses.compliant_till_days > 0
                    then {{ add_days(utc_date('completion.completed_at'), 'courses.compliant_till_days') }}
            end
        ) as compliant_till_date
    from completion
    left join courses on courses.tenant = completion.tenant and courses.course_id = completion.course_id
    where courses.compliant_till_days > 0 or completion.result_compliant_till_date is not null
)

select
    user_course_key,
    tenant,
    user_id,
    course_id,
    {{ compliance_status('compliant_till_date', 'is_completed', 'due_date', 'as_of_date') }} as compliance_status,
    assigned_via,
    is_assigned,
    is_completed,
    completed_at,
    due_date,
    compliance_period_days,
    compliant_till_date,
    {{ days_between('as_of_date', 'compliant_till_date') }} as days_until_expiry,
    user_missing,
    course_missing,
    as_of_date,
    {{ expiring_soon_days() }} as expiring_soon_days
from scoped
