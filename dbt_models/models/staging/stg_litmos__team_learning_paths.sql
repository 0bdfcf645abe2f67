-- One row per (team, learning path, is_in_team_library).
{{ litmos_staging(
    source('litmos', 'team_learning_paths'),
    columns={
        'team_id': 'text',
        'id': 'text',
        'is_in_team_library': 'boolean',
        'original_learning_path_id': 'bigint',
        'original_team_id': 'bigint',
        'active': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['team_id', 'learning_path_id', 'is_in_team_library'],
    renames={'id': 'learning_path_id'}
) }}
