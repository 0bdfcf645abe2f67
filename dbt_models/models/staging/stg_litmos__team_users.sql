-- One row per (team, user) membership.
{{ litmos_staging(
    source('litmos', 'team_users'),
    columns={
        'team_id': 'text',
        'id': 'text',
        'original_team_id': 'bigint',
        'original_user_id': 'bigint',
        'active': 'boolean',
        'is_team_leader': 'boolean',
        'is_team_admin': 'boolean',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['team_id', 'user_id'],
    renames={'id': 'user_id'}
) }}
