{#- Date arithmetic where DuckDB and Postgres differ, behind adapter.dispatch. All dates are UTC dates. -#}

{% macro utc_date(expression) -%}
    {{ return(adapter.dispatch('utc_date', 'litmos')(expression)) }}
{%- endmacro %}
{% macro default__utc_date(expression) -%}
    cast(({{ expression }}) at time zone 'UTC' as date)
{%- endmacro %}
{% macro duckdb__utc_date(expression) -%}
    cast(timezone('UTC', {{ expression }}) as date)
{%- endmacro %}

{% macro days_between(start_date, end_date) -%}
    {#- Whole days from start_date to end_date (negative when end is earlier). -#}
    {{ return(adapter.dispatch('days_between', 'litmos')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__days_between(start_date, end_date) -%}
    (cast({{ end_date }} as date) - cast({{ start_date }} as date))
{%- endmacro %}
{% macro duckdb__days_between(start_date, end_date) -%}
    datediff('day', cast({{ start_date }} as date), cast({{ end_date }} as date))
{%- endmacro %}

{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'litmos')(date_expression, days)) }}
{%- endmacro %}
{% macro default__add_days(date_expression, days) -%}
    cast(cast({{ date_expression }} as date) + cast({{ days }} as integer) as date)
{%- endmacro %}
{% macro duckdb__add_days(date_expression, days) -%}
    cast(cast({{ date_expression }} as date) + to_days(cast({{ days }} as integer)) as date)
{%- endmacro %}

{% macro as_of_date() -%}
    {#- The evaluation date: var as_of_date (YYYY-MM-DD) or today's UTC date, fixed at compile time so
        every model of one run uses the same date. -#}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or value == '' -%}
        {%- set value = modules.datetime.datetime.utcnow().strftime('%Y-%m-%d') -%}
    {%- else -%}
        {%- set value = value | string -%}
        {%- if modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', value) is none -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be a date YYYY-MM-DD, got '" ~ value ~ "'; pass e.g. --vars '{as_of_date: 2025-06-30}'") }}
        {%- endif -%}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro expiring_soon_days() -%}
    {#- var expiring_soon_days as a validated non-negative integer. -#}
    {%- set value = var('expiring_soon_days', 30) | string | trim -%}
    {%- if modules.re.match('^\\d+$', value) is none -%}
        {{ exceptions.raise_compiler_error("var expiring_soon_days must be a whole number of days >= 0, got '" ~ value ~ "'; pass e.g. --vars '{expiring_soon_days: 30}'") }}
    {%- endif -%}
    {{- value | int -}}
{%- endmacro %}
