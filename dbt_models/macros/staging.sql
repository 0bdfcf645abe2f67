{#- One macro builds every staging view, so typing, renaming and "latest version per key" are
    implemented (and reviewed) once. What each view holds comes from sources/litmos/settings.py, through
    the generated litmos_staging_spec (staging_schema.sql). -#}

{% macro litmos_staging(table) -%}
{#-
    Args:
        table: Raw table name; the view reads source('litmos', table).

    The spec of the table gives: columns, [raw name, output name, SQL type] in output order (`active`
    becomes `is_active`, NULL read as true); key, the output columns forming the natural key (one row is
    kept per key); version_columns, the output columns whose first non-NULL value dates a version (newest
    wins; the load timestamp and load id break ties).
-#}
{%- set relation = source('litmos', table) -%}
{%- set spec = litmos_staging_spec(table) -%}
{%- set present = litmos_existing_columns(relation) -%}
{%- set key = spec['key'] -%}
with typed as (
    select
    {%- for name, output, data_type in spec['columns'] %}
        {%- if output == 'is_active' %}
        coalesce({{ litmos_column_or_null(name, data_type, present) }}, true) as is_active,
        {%- else %}
        {{ litmos_column_or_null(name, data_type, present) }} as {{ output }},
        {%- endif %}
    {%- endfor %}
        {{ litmos_column_or_null('_litmos_synced_at', 'timestamptz', present) }} as _litmos_synced_at,
        {{ litmos_column_or_null('_dlt_load_id', 'text', present) }} as _dlt_load_id
    from {{ litmos_from_raw(relation, present) }}
),

ranked as (
    select
        typed.*,
        row_number() over (
            partition by {{ key | join(', ') }}
            order by
            {%- set versions = spec['version_columns'] -%}
            {%- if versions | length == 1 %}
                {{ versions[0] }} desc nulls last,
            {%- elif versions | length > 1 %}
                coalesce({{ versions | join(', ') }}) desc nulls last,
            {%- endif %}
                _litmos_synced_at desc nulls last,
                _dlt_load_id desc nulls last
        ) as version_rank
    from typed
    where {% for column in key %}{{ column }} is not null{{ ' and ' if not loop.last }}{% endfor %}
)

select
{%- for _, output, _ in spec['columns'] %}
    {{ output }},
{%- endfor %}
    _litmos_synced_at,
    _dlt_load_id
from ranked
where version_rank = 1
{%- endmacro %}
