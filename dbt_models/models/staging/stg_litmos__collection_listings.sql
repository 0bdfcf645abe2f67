-- One row per collection listing (entitlement).
{{ litmos_staging(
    source('litmos', 'collection_listings'),
    columns={
        'collection_id': 'text',
        'id': 'text',
        'name': 'text',
        'active': 'boolean',
        'duration_type': 'text',
        'max_users': 'bigint',
        'duration_days': 'bigint',
        'fixed_date': 'text',
    },
    key=['collection_id', 'listing_id'],
    renames={'id': 'listing_id', 'name': 'listing_name'},
    version_columns=[]
) }}
