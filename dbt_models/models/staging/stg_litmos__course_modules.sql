-- One row per (course, module) link; is_active = false means removed.
{{ litmos_staging(
    source('litmos', 'course_modules'),
    columns={
        'course_id': 'text',
        'id': 'text',
        'original_course_id': 'bigint',
        'original_module_id': 'bigint',
        'active': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['course_id', 'module_id'],
    renames={'id': 'module_id'}
) }}
