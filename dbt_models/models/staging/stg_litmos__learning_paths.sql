-- One row per learning path.
{{ litmos_staging(
    source('litmos', 'learning_paths'),
    columns={
        'id': 'text',
        'original_id': 'bigint',
        'name': 'text',
        'description': 'text',
        'active': 'boolean',
        'for_sale': 'boolean',
        'price': 'float8',
        'ecommerce_short_description': 'text',
        'ecommerce_long_description': 'text',
        'access_till_date': 'timestamptz',
        'access_till_days': 'bigint',
        'display_order': 'bigint',
        'include_in_library': 'boolean',
        'is_course_order_optional': 'boolean',
        'image_url': 'text',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
    },
    key=['learning_path_id'],
    renames={'id': 'learning_path_id', 'original_id': 'original_learning_path_id', 'name': 'learning_path_name'}
) }}
