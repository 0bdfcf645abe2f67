{#- Reading raw tables robustly: dlt only creates a column once the API has sent a value for it, and
    only creates a table once a resource yielded rows, so staging must not fail on either absence. -#}

{% macro litmos_existing_columns(relation) -%}
    {#- Lower-cased column names of `relation`, or [] when it does not exist (or at parse time). -#}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- if found is not none -%}
            {%- for column in adapter.get_columns_in_relation(found) -%}
                {%- do names.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {{- return(names) -}}
{%- endmacro %}

{% macro litmos_column_or_null(name, data_type, present) -%}
    {#- The raw column cast to `data_type`, or a typed NULL when the raw table lacks it. -#}
    {%- if name | lower in present -%}
        cast({{ adapter.quote(name) }} as {{ data_type }})
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro litmos_from_raw(relation, present) -%}
    {#- The raw relation, or an empty row set when the table was never created. -#}
    {%- if present | length > 0 -%}
        {{ relation }}
    {%- else -%}
        (select 1 as no_raw_table where 1 = 0) as missing_raw_table
    {%- endif -%}
{%- endmacro %}
