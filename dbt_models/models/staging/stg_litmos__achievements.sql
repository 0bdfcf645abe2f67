-- One row per achievement from /achievements (seed 004).
{{ litmos_staging(
    source('litmos', 'achievements'),
    columns={
        'achievement_id': 'bigint',
        'user_id': 'text',
        'course_id': 'text',
        'title': 'text',
        'description': 'text',
        'achievement_date': 'timestamptz',
        'compliant_till_date': 'timestamptz',
        'score': 'text',
        'result': 'text',
        'type': 'text',
        'first_name': 'text',
        'last_name': 'text',
        'certificate_id': 'bigint',
    },
    key=['achievement_id'],
    renames={'type': 'achievement_type'},
    version_columns=['achievement_date']
) }}
