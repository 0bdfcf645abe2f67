-- One row per user course result (user, course).
{{ litmos_staging(
    source('litmos', 'course_results'),
    columns={
        'user_id': 'text',
        'id': 'text',
        'original_user_id': 'bigint',
        'original_course_id': 'bigint',
        'name': 'text',
        'active': 'boolean',
        'started_date': 'timestamptz',
        'completed': 'boolean',
        'percentage_complete': 'float8',
        'completed_date': 'timestamptz',
        'up_to_date': 'boolean',
        'overdue': 'boolean',
        'compliant_till_date': 'timestamptz',
        'due_date': 'timestamptz',
        'last_attempt_date': 'timestamptz',
        'code': 'text',
        'username': 'text',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
    },
    key=['user_id', 'course_id'],
    renames={'id': 'course_id', 'name': 'course_name'}
) }}
