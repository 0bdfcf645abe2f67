-- One row per collection (full refresh).
{{ litmos_staging(
    source('litmos', 'collections'),
    columns={
        'id': 'text',
        'name': 'text',
        'description': 'text',
        'default_listing': 'boolean',
        'image_url': 'text',
    },
    key=['collection_id'],
    renames={'id': 'collection_id', 'name': 'collection_name'},
    version_columns=[]
) }}
