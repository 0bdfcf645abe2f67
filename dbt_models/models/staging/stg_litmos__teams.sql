-- One row per team; parent_team_id NULL for top-level teams.
{{ litmos_staging(
    source('litmos', 'teams'),
    columns={
        'id': 'text',
        'original_team_id': 'bigint',
        'name': 'text',
        'active': 'boolean',
        'parent_team_id': 'text',
        'team_code_for_bulk_import': 'text',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
        'updated_by': 'bigint',
    },
    key=['team_id'],
    renames={'id': 'team_id', 'name': 'team_name'}
) }}
