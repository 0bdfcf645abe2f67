{#- One macro builds every staging view, so typing, renaming and "latest version per key" are
    implemented (and reviewed) once. -#}

{% macro litmos_staging(relation, columns, key, renames={}, version_columns=['updated_date', 'created_date']) -%}
{#-
    Args:
        relation: source('litmos', <table>).
        columns: ordered mapping raw column name -> SQL type (text, bigint, float8, boolean, timestamptz).
        key: output column names (after renames) forming the natural key; one row is kept per key.
        renames: raw name -> output name. `active` always becomes `is_active` (NULL read as true).
        version_columns: output columns whose first non-NULL value dates a version (newest wins);
            the load timestamp and load id break ties.
-#}
{%- set present = litmos_existing_columns(relation) -%}
{%- set outputs = [] -%}
{%- for name in columns -%}
    {%- do outputs.append('is_active' if name == 'active' else renames.get(name, name)) -%}
{%- endfor -%}
with typed as (
    select
    {%- for name, data_type in columns.items() %}
        {%- if name == 'active' %}
        coalesce({{ litmos_column_or_null(name, data_type, present) }}, true) as is_active,
        {%- else %}
        {{ litmos_column_or_null(name, data_type, present) }} as {{ renames.get(name, name) }},
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
            {%- set versions = [] -%}
            {%- for column in version_columns if column in outputs -%}{%- do versions.append(column) -%}{%- endfor -%}
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
{%- for name in outputs %}
    {{ name }},
{%- endfor %}
    _litmos_synced_at,
    _dlt_load_id
from ranked
where version_rank = 1
{%- endmacro %}
