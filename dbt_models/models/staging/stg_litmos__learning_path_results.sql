-- One row per user learning-path result (user, learning path).
{{ litmos_staging(
    source('litmos', 'learning_path_results'),
    columns={
        'user_id': 'text',
        'id': 'text',
        'original_learning_path_id': 'bigint',
        'original_user_id': 'bigint',
        'active': 'boolean',
        'name': 'text',
        'percentage_complete': 'float8',
        'completed': 'boolean',
        'compliant_till_date': 'timestamptz',
        'start_date': 'timestamptz',
        'finish_date': 'timestamptz',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
    },
    key=['user_id', 'learning_path_id'],
    renames={'id': 'learning_path_id', 'name': 'learning_path_name'}
) }}
