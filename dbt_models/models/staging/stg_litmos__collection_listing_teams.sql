-- One row per (listing, team).
{{ litmos_staging(
    source('litmos', 'collection_listing_teams'),
    columns={
        'listing_id': 'text',
        'id': 'text',
        'name': 'text',
        'team_code_for_bulk_import': 'text',
        'parent_team_id': 'text',
    },
    key=['listing_id', 'team_id'],
    renames={'id': 'team_id', 'name': 'team_name'},
    version_columns=[]
) }}
