-- One row per (tenant, course), with its compliance period and module count.
with courses as (
    select * from {{ ref('stg_litmos__courses') }}
),

modules as (
    select tenant, course_id, count(*) as active_module_count
    from {{ ref('stg_litmos__course_modules') }}
    where is_active
    group by tenant, course_id
)

select
    courses.tenant,
    courses.course_id,
    courses.original_course_id,
    courses.code as course_code,
    courses.course_name,
    courses.is_active,
    courses.for_sale as is_for_sale,
    courses.price,
    courses.compliant_till_days,
    coalesce(courses.compliant_till_days > 0, false) as has_compliance_period,
    courses.access_till_days,
    courses.time_limit_days,
    courses.include_in_library as is_in_library,
    coalesce(modules.active_module_count, 0) as active_module_count,
    courses.created_date as created_at,
    courses.updated_date as updated_at
from courses
left join modules on modules.tenant = courses.tenant and modules.course_id = courses.course_id
