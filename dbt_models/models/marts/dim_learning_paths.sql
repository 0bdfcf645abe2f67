-- One row per (tenant, learning path), with its number of active courses.
with learning_paths as (
    select * from {{ ref('stg_litmos__learning_paths') }}
),

courses as (
    select tenant, learning_path_id, count(*) as active_course_count
    from {{ ref('stg_litmos__learning_path_courses') }}
    where is_active
    group by tenant, learning_path_id
)

select
    learning_paths.tenant,
    learning_paths.learning_path_id,
    learning_paths.original_learning_path_id,
    learning_paths.learning_path_name,
    learning_paths.is_active,
    learning_paths.for_sale as is_for_sale,
    learning_paths.price,
    learning_paths.access_till_days,
    learning_paths.include_in_library as is_in_library,
    learning_paths.is_course_order_optional,
    coalesce(courses.active_course_count, 0) as active_course_count,
    learning_paths.created_date as created_at,
    learning_paths.updated_date as updated_at
from learning_paths
left join courses
    on courses.tenant = learning_paths.tenant and courses.learning_path_id = learning_paths.learning_path_id
