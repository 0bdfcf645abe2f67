{#- Schemas are exactly litmos_staging / litmos_intermediate / litmos_marts (no target-schema prefix),
    because the pipeline, BI tools and docs/architecture.md address them by these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
