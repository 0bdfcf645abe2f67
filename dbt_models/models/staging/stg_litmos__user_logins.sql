-- One row per login event (user, last_login).
{{ litmos_staging(
    source('litmos', 'user_logins'),
    columns={
        'id': 'text',
        'last_login': 'timestamptz',
        'original_id': 'bigint',
        'user_name': 'text',
        'full_name': 'text',
        'email': 'text',
        'active': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
    },
    key=['user_id', 'last_login'],
    renames={'id': 'user_id', 'original_id': 'original_user_id'}
) }}
