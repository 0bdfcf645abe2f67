-- One row per (learning path, course) link.
{{ litmos_staging(
    source('litmos', 'learning_path_courses'),
    columns={
        'learning_path_id': 'text',
        'id': 'text',
        'original_learning_path_id': 'bigint',
        'original_course_id': 'bigint',
        'active': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['learning_path_id', 'course_id'],
    renames={'id': 'course_id'}
) }}
