{#- on-run-start guard: without it, a wrong raw_schema would build empty staging views (missing raw tables
    read as empty, see raw_columns.sql) and silently produce empty marts. With several tenants, one whose
    schema is missing (a new tenant whose first load failed) is skipped and logged; only when none
    exists does the run fail. -#}
{% macro assert_raw_schema_exists() -%}
    {%- if execute -%}
        {%- set tenants = litmos_tenants() -%}
        {%- set missing = [] -%}
        {%- for tenant in tenants -%}
            {%- if not adapter.check_schema_exists(target.database, tenant['schema']) -%}
                {%- do missing.append(tenant) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if tenants | length == 1 and missing -%}
            {{ exceptions.raise_compiler_error(
                "raw schema '" ~ missing[0]['schema'] ~ "' does not exist in the " ~ target.type ~ " warehouse: run the sync first (litmos-sync run) or pass the schema the pipeline loaded (var raw_schema)") }}
        {%- elif missing | length == tenants | length -%}
            {{ exceptions.raise_compiler_error(
                "none of the tenants' raw schemas (" ~ missing | map(attribute='schema') | join(', ') ~ ") exists in the " ~ target.type ~ " warehouse: run the sync first (litmos-sync run) or pass the schemas the pipeline loaded (var tenants)") }}
        {%- endif -%}
        {%- for tenant in missing -%}
            {%- do log("tenant " ~ tenant['name'] ~ ": raw schema " ~ tenant['schema'] ~ " does not exist yet, skipped", info=true) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
