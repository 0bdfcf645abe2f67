{#- Generated from sources/litmos/settings.py by `python -m sources.litmos.schema_export`: edit settings.py and rerun it (tests/source/test_schema_in_one_place.py fails while this file is stale).
    Every staging view: natural key, version columns, columns [raw, staged, SQL type]. -#}
{% macro litmos_staging_spec(table) -%}
{%- set specs = {
    "users": {
        "key": ["user_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["id", "user_id", "text"],
            ["original_id", "original_user_id", "bigint"],
            ["user_name", "user_name", "text"],
            ["first_name", "first_name", "text"],
            ["last_name", "last_name", "text"],
            ["full_name", "full_name", "text"],
            ["email", "email", "text"],
            ["access_level", "access_level", "text"],
            ["disable_messages", "disable_messages", "boolean"],
            ["active", "is_active", "boolean"],
            ["skype", "skype", "text"],
            ["phone_work", "phone_work", "text"],
            ["phone_mobile", "phone_mobile", "text"],
            ["last_login", "last_login", "timestamptz"],
            ["is_custom_username", "is_custom_username", "boolean"],
            ["time_zone", "time_zone", "text"],
            ["salesforce_id", "salesforce_id", "text"],
            ["street1", "street1", "text"],
            ["street2", "street2", "text"],
            ["city", "city", "text"],
            ["state", "state", "text"],
            ["postal_code", "postal_code", "text"],
            ["country", "country", "text"],
            ["company_name", "company_name", "text"],
            ["job_title", "job_title", "text"],
            ["custom_field1", "custom_field1", "text"],
            ["custom_field2", "custom_field2", "text"],
            ["custom_field3", "custom_field3", "text"],
            ["custom_field4", "custom_field4", "text"],
            ["custom_field5", "custom_field5", "text"],
            ["custom_field6", "custom_field6", "text"],
            ["custom_field7", "custom_field7", "text"],
            ["custom_field8", "custom_field8", "text"],
            ["custom_field9", "custom_field9", "text"],
            ["custom_field10", "custom_field10", "text"],
            ["culture", "culture", "text"],
            ["salesforce_contact_id", "salesforce_contact_id", "text"],
            ["salesforce_account_id", "salesforce_account_id", "text"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"],
            ["brand", "brand", "text"],
            ["manager_id", "manager_id", "text"],
            ["manager_name", "manager_name", "text"],
            ["enable_text_notification", "enable_text_notification", "boolean"],
            ["website", "website", "text"],
            ["twitter", "twitter", "text"],
            ["expiration_date", "expiration_date", "timestamptz"],
            ["external_employee_id", "external_employee_id", "text"]
        ]
    },
    "user_logins": {
        "key": ["user_id", "last_login"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["id", "user_id", "text"],
            ["last_login", "last_login", "timestamptz"],
            ["original_id", "original_user_id", "bigint"],
            ["user_name", "user_name", "text"],
            ["full_name", "full_name", "text"],
            ["email", "email", "text"],
            ["active", "is_active", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"]
        ]
    },
    "module_results": {
        "key": ["user_id", "module_id", "attempt_number"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["user_id", "user_id", "text"],
            ["id", "module_id", "text"],
            ["attempt_number", "attempt_number", "bigint"],
            ["orginal_module_id", "original_module_id", "bigint"],
            ["original_user_id", "original_user_id", "bigint"],
            ["module_result_id", "module_result_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["name", "module_name", "text"],
            ["passmark", "passmark", "bigint"],
            ["score", "score", "bigint"],
            ["user_name", "user_name", "text"],
            ["completed", "completed", "boolean"],
            ["started_date", "started_date", "timestamptz"],
            ["finished_date", "finished_date", "timestamptz"],
            ["time_taken", "time_taken_seconds", "bigint"],
            ["code", "code", "text"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"]
        ]
    },
    "course_results": {
        "key": ["user_id", "course_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["user_id", "user_id", "text"],
            ["id", "course_id", "text"],
            ["original_user_id", "original_user_id", "bigint"],
            ["original_course_id", "original_course_id", "bigint"],
            ["name", "course_name", "text"],
            ["active", "is_active", "boolean"],
            ["started_date", "started_date", "timestamptz"],
            ["completed", "completed", "boolean"],
            ["percentage_complete", "percentage_complete", "float8"],
            ["completed_date", "completed_date", "timestamptz"],
            ["up_to_date", "up_to_date", "boolean"],
            ["overdue", "overdue", "boolean"],
            ["compliant_till_date", "compliant_till_date", "timestamptz"],
            ["due_date", "due_date", "timestamptz"],
            ["last_attempt_date", "last_attempt_date", "timestamptz"],
            ["code", "code", "text"],
            ["username", "username", "text"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"]
        ]
    },
    "learning_path_results": {
        "key": ["user_id", "learning_path_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["user_id", "user_id", "text"],
            ["id", "learning_path_id", "text"],
            ["original_learning_path_id", "original_learning_path_id", "bigint"],
            ["original_user_id", "original_user_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["name", "learning_path_name", "text"],
            ["percentage_complete", "percentage_complete", "float8"],
            ["completed", "completed", "boolean"],
            ["compliant_till_date", "compliant_till_date", "timestamptz"],
            ["start_date", "start_date", "timestamptz"],
            ["finish_date", "finish_date", "timestamptz"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"]
        ]
    },
    "org_achievements": {
        "key": ["achievement_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["id", "achievement_id", "text"],
            ["user_id", "user_id", "text"],
            ["course_id", "course_id", "text"],
            ["learning_path_id", "learning_path_id", "text"],
            ["original_achievement_id", "original_achievement_id", "bigint"],
            ["original_user_id", "original_user_id", "bigint"],
            ["original_course_id", "original_course_id", "bigint"],
            ["original_learning_path_id", "original_learning_path_id", "bigint"],
            ["compliant_till_date", "compliant_till_date", "timestamptz"],
            ["title", "title", "text"],
            ["achievement_date", "achievement_date", "timestamptz"],
            ["type", "achievement_type", "text"],
            ["certificate_id", "certificate_id", "bigint"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "modules": {
        "key": ["module_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["id", "module_id", "text"],
            ["original_id", "original_module_id", "bigint"],
            ["name", "module_name", "text"],
            ["description", "description", "text"],
            ["active", "is_active", "boolean"],
            ["passmark", "passmark", "bigint"],
            ["module_type", "module_type", "text"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"]
        ]
    },
    "courses": {
        "key": ["course_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["id", "course_id", "text"],
            ["original_course_id", "original_course_id", "bigint"],
            ["code", "code", "text"],
            ["name", "course_name", "text"],
            ["active", "is_active", "boolean"],
            ["for_sale", "for_sale", "boolean"],
            ["description", "description", "text"],
            ["ecommerce_short_description", "ecommerce_short_description", "text"],
            ["ecommerce_long_description", "ecommerce_long_description", "text"],
            ["course_code_for_bulk_import", "course_code_for_bulk_import", "text"],
            ["price", "price", "float8"],
            ["access_till_date", "access_till_date", "timestamptz"],
            ["access_till_days", "access_till_days", "bigint"],
            ["compliant_till_days", "compliant_till_days", "bigint"],
            ["time_limit_date", "time_limit_date", "timestamptz"],
            ["time_limit_days", "time_limit_days", "bigint"],
            ["display_order", "display_order", "bigint"],
            ["include_in_library", "include_in_library", "boolean"],
            ["course_image_url", "course_image_url", "text"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "learning_paths": {
        "key": ["learning_path_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["id", "learning_path_id", "text"],
            ["original_id", "original_learning_path_id", "bigint"],
            ["name", "learning_path_name", "text"],
            ["description", "description", "text"],
            ["active", "is_active", "boolean"],
            ["for_sale", "for_sale", "boolean"],
            ["price", "price", "float8"],
            ["ecommerce_short_description", "ecommerce_short_description", "text"],
            ["ecommerce_long_description", "ecommerce_long_description", "text"],
            ["access_till_date", "access_till_date", "timestamptz"],
            ["access_till_days", "access_till_days", "bigint"],
            ["display_order", "display_order", "bigint"],
            ["include_in_library", "include_in_library", "boolean"],
            ["is_course_order_optional", "is_course_order_optional", "boolean"],
            ["image_url", "image_url", "text"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"]
        ]
    },
    "course_modules": {
        "key": ["course_id", "module_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["course_id", "course_id", "text"],
            ["id", "module_id", "text"],
            ["original_course_id", "original_course_id", "bigint"],
            ["original_module_id", "original_module_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "learning_path_courses": {
        "key": ["learning_path_id", "course_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["learning_path_id", "learning_path_id", "text"],
            ["id", "course_id", "text"],
            ["original_learning_path_id", "original_learning_path_id", "bigint"],
            ["original_course_id", "original_course_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "user_courses": {
        "key": ["user_id", "course_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["user_id", "user_id", "text"],
            ["id", "course_id", "text"],
            ["original_user_id", "original_user_id", "bigint"],
            ["original_course_id", "original_course_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "learning_path_users": {
        "key": ["learning_path_id", "user_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["learning_path_id", "learning_path_id", "text"],
            ["id", "user_id", "text"],
            ["original_learning_path_id", "original_learning_path_id", "bigint"],
            ["original_user_id", "original_user_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "teams": {
        "key": ["team_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["id", "team_id", "text"],
            ["original_team_id", "original_team_id", "bigint"],
            ["name", "team_name", "text"],
            ["active", "is_active", "boolean"],
            ["parent_team_id", "parent_team_id", "text"],
            ["team_code_for_bulk_import", "team_code_for_bulk_import", "text"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "team_users": {
        "key": ["team_id", "user_id"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["team_id", "team_id", "text"],
            ["id", "user_id", "text"],
            ["original_team_id", "original_team_id", "bigint"],
            ["original_user_id", "original_user_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["is_team_leader", "is_team_leader", "boolean"],
            ["is_team_admin", "is_team_admin", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "team_courses": {
        "key": ["team_id", "course_id", "is_in_team_library"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["team_id", "team_id", "text"],
            ["id", "course_id", "text"],
            ["is_in_team_library", "is_in_team_library", "boolean"],
            ["original_course_id", "original_course_id", "bigint"],
            ["original_team_id", "original_team_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["learning_path_assignment", "learning_path_assignment", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "team_learning_paths": {
        "key": ["team_id", "learning_path_id", "is_in_team_library"],
        "version_columns": ["updated_date", "created_date"],
        "columns": [
            ["team_id", "team_id", "text"],
            ["id", "learning_path_id", "text"],
            ["is_in_team_library", "is_in_team_library", "boolean"],
            ["original_learning_path_id", "original_learning_path_id", "bigint"],
            ["original_team_id", "original_team_id", "bigint"],
            ["active", "is_active", "boolean"],
            ["created_date", "created_date", "timestamptz"],
            ["updated_date", "updated_date", "timestamptz"],
            ["created_by", "created_by", "bigint"],
            ["updated_by", "updated_by", "bigint"]
        ]
    },
    "achievements": {
        "key": ["achievement_id"],
        "version_columns": ["achievement_date"],
        "columns": [
            ["achievement_id", "achievement_id", "bigint"],
            ["user_id", "user_id", "text"],
            ["course_id", "course_id", "text"],
            ["title", "title", "text"],
            ["description", "description", "text"],
            ["achievement_date", "achievement_date", "timestamptz"],
            ["compliant_till_date", "compliant_till_date", "timestamptz"],
            ["score", "score", "text"],
            ["result", "result", "text"],
            ["type", "achievement_type", "text"],
            ["first_name", "first_name", "text"],
            ["last_name", "last_name", "text"],
            ["certificate_id", "certificate_id", "bigint"]
        ]
    },
    "collections": {
        "key": ["collection_id"],
        "version_columns": [],
        "columns": [
            ["id", "collection_id", "text"],
            ["name", "collection_name", "text"],
            ["description", "description", "text"],
            ["default_listing", "default_listing", "boolean"],
            ["image_url", "image_url", "text"]
        ]
    },
    "collection_listings": {
        "key": ["collection_id", "listing_id"],
        "version_columns": [],
        "columns": [
            ["collection_id", "collection_id", "text"],
            ["id", "listing_id", "text"],
            ["name", "listing_name", "text"],
            ["active", "is_active", "boolean"],
            ["duration_type", "duration_type", "text"],
            ["max_users", "max_users", "bigint"],
            ["duration_days", "duration_days", "bigint"],
            ["fixed_date", "fixed_date", "text"]
        ]
    },
    "collection_listing_users": {
        "key": ["listing_id", "user_id"],
        "version_columns": [],
        "columns": [
            ["listing_id", "listing_id", "text"],
            ["id", "user_id", "text"],
            ["first_name", "first_name", "text"],
            ["last_name", "last_name", "text"],
            ["username", "username", "text"],
            ["access_till", "access_till", "timestamptz"],
            ["active", "is_active", "boolean"]
        ]
    },
    "collection_listing_teams": {
        "key": ["listing_id", "team_id"],
        "version_columns": [],
        "columns": [
            ["listing_id", "listing_id", "text"],
            ["id", "team_id", "text"],
            ["name", "team_name", "text"],
            ["team_code_for_bulk_import", "team_code_for_bulk_import", "text"],
            ["parent_team_id", "parent_team_id", "text"]
        ]
    },
    "module_details": {
        "key": ["module_id"],
        "version_columns": [],
        "columns": [
            ["id", "module_id", "text"],
            ["module_type", "module_type", "text"],
            ["name", "module_name", "text"],
            ["description", "description", "text"],
            ["active", "is_active", "boolean"],
            ["code", "code", "text"],
            ["module_ref_code", "module_ref_code", "text"],
            ["hide_description", "hide_description", "boolean"],
            ["new_window", "new_window", "boolean"],
            ["review_mode", "review_mode", "boolean"],
            ["content_url", "content_url", "text"],
            ["status", "status", "text"]
        ]
    }
} -%}
{%- if table not in specs -%}
    {{ exceptions.raise_compiler_error("raw table '" ~ table ~ "' has no staging view: add it to sources/litmos/settings.py and run python -m sources.litmos.schema_export") }}
{%- endif -%}
{{- return(specs[table]) -}}
{%- endmacro %}
