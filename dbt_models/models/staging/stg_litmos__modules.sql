-- One row per module.
{{ litmos_staging(
    source('litmos', 'modules'),
    columns={
        'id': 'text',
        'original_id': 'bigint',
        'name': 'text',
        'description': 'text',
        'active': 'boolean',
        'passmark': 'bigint',
        'module_type': 'text',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
    },
    key=['module_id'],
    renames={'id': 'module_id', 'original_id': 'original_module_id', 'name': 'module_name'}
) }}
