-- One row per achievement from /org/achievements.
{{ litmos_staging(
    source('litmos', 'org_achievements'),
    columns={
        'id': 'text',
        'user_id': 'text',
        'course_id': 'text',
        'learning_path_id': 'text',
        'original_achievement_id': 'bigint',
        'original_user_id': 'bigint',
        'original_course_id': 'bigint',
        'original_learning_path_id': 'bigint',
        'compliant_till_date': 'timestamptz',
        'title': 'text',
        'achievement_date': 'timestamptz',
        'type': 'text',
        'certificate_id': 'bigint',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['achievement_id'],
    renames={'id': 'achievement_id', 'type': 'achievement_type'}
) }}
