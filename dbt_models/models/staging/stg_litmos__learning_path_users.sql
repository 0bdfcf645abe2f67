-- One row per direct (learning path, user) assignment; UpdatedDate is often nil, so versions order by created_date after it.
{{ litmos_staging(
    source('litmos', 'learning_path_users'),
    columns={
        'learning_path_id': 'text',
        'id': 'text',
        'original_learning_path_id': 'bigint',
        'original_user_id': 'bigint',
        'active': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['learning_path_id', 'user_id'],
    renames={'id': 'user_id'}
) }}
