-- One row per SCORM / Tin Can module from GET /modules/{id}.
{{ litmos_staging(
    source('litmos', 'module_details'),
    columns={
        'id': 'text',
        'module_type': 'text',
        'name': 'text',
        'description': 'text',
        'active': 'boolean',
        'code': 'text',
        'module_ref_code': 'text',
        'hide_description': 'boolean',
        'new_window': 'boolean',
        'review_mode': 'boolean',
        'content_url': 'text',
        'status': 'text',
    },
    key=['module_id'],
    renames={'id': 'module_id', 'name': 'module_name'},
    version_columns=[]
) }}
