{#- Schemas are exactly <prefix>_staging / <prefix>_intermediate / <prefix>_marts, the prefix being var
    schema_prefix (default: raw_schema without `_raw`, so litmos_raw gives litmos_staging, litmos_marts):
    the pipeline, BI tools and docs/architecture.md address them by these names, and two environments
    (dev_raw, prod_raw) can share one database. No target-schema prefix. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ litmos_schema_prefix() }}_{{ (custom_schema_name or 'marts') | trim }}
{%- endmacro %}
