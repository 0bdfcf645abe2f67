{#- dbt's get_where_subquery with one placeholder: a test's `where` config may say __as_of_date__, replaced
    by this run's as-of date (macro as_of_date()), so the tests of fct_compliance_daily check the day this
    build wrote instead of scanning the whole history every night. Otherwise dbt's own behaviour. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where | replace('__as_of_date__', as_of_date() | trim) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
