-- One row per module attempt (user, module, attempt number); `orginal_module_id` (vendor typo) is renamed.
{{ litmos_staging(
    source('litmos', 'module_results'),
    columns={
        'user_id': 'text',
        'id': 'text',
        'attempt_number': 'bigint',
        'orginal_module_id': 'bigint',
        'original_user_id': 'bigint',
        'module_result_id': 'bigint',
        'active': 'boolean',
        'name': 'text',
        'passmark': 'bigint',
        'score': 'bigint',
        'user_name': 'text',
        'completed': 'boolean',
        'started_date': 'timestamptz',
        'finished_date': 'timestamptz',
        'time_taken': 'bigint',
        'code': 'text',
        'created_date': 'timestamptz',
        'updated_date': 'timestamptz',
        'created_by': 'bigint',
    },
    key=['user_id', 'module_id', 'attempt_number'],
    renames={'id': 'module_id', 'orginal_module_id': 'original_module_id', 'name': 'module_name', 'time_taken': 'time_taken_seconds'}
) }}
