-- One row per direct (user, course) assignment; team assignments are not in this endpoint.
{{ litmos_staging(
    source('litmos', 'user_courses'),
    columns={
        'user_id': 'text',
        'id': 'text',
        'original_user_id': 'bigint',
        'original_course_id': 'bigint',
        'active': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['user_id', 'course_id'],
    renames={'id': 'course_id'}
) }}
