-- One row per (team, course, is_in_team_library): false = assigned to the team, true = only in its library.
{{ litmos_staging(
    source('litmos', 'team_courses'),
    columns={
        'team_id': 'text',
        'id': 'text',
        'is_in_team_library': 'boolean',
        'original_course_id': 'bigint',
        'original_team_id': 'bigint',
        'active': 'boolean',
        'learning_path_assignment': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['team_id', 'course_id', 'is_in_team_library'],
    renames={'id': 'course_id'}
) }}
