-- One row per (listing, user).
{{ litmos_staging(
    source('litmos', 'collection_listing_users'),
    columns={
        'listing_id': 'text',
        'id': 'text',
        'first_name': 'text',
        'last_name': 'text',
        'username': 'text',
        'access_till': 'timestamptz',
        'active': 'boolean',
    },
    key=['listing_id', 'user_id'],
    renames={'id': 'user_id'},
    version_columns=[]
) }}
