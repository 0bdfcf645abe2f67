{#- on-run-start guard: without it, a wrong raw_schema would build empty staging views (missing raw tables
    read as empty, see raw_columns.sql) and silently produce empty marts. -#}
{% macro assert_raw_schema_exists() -%}
    {%- if execute -%}
        {%- set raw_schema = var('raw_schema', 'litmos_raw') -%}
        {%- if not adapter.check_schema_exists(target.database, raw_schema) -%}
            {{ exceptions.raise_compiler_error(
                "raw schema '" ~ raw_schema ~ "' does not exist in the " ~ target.type ~ " warehouse: run the sync first (litmos-sync run) or pass the schema the pipeline loaded (var raw_schema)") }}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}
