{#- One macro builds every staging view, so typing, renaming and "latest version per key" are
    implemented (and reviewed) once. What each view holds comes from sources/litmos/settings.py, through
    the generated litmos_staging_spec (staging_schema.sql). -#}

{% macro litmos_staging(table) -%}
{#-
    Args:
        table: Raw table name; the view reads source('litmos', table) in every tenant's raw schema
            (litmos_tenant_relations: a tenant without that schema or table is skipped) and unions them
            with a `tenant` column, the first column of every model of this project (the pattern of
            Fivetran's union_schemas / source_relation).

    The spec of the table gives: columns, [raw name, output name, SQL type] in output order (`active`
    becomes `is_active`, NULL read as true); key, the output columns forming the natural key (one row is
    kept per tenant and key); version_columns, the output columns whose first non-NULL value dates a version (newest
    wins; the load timestamp and load id break ties).
-#}
{%- set spec = litmos_staging_spec(table) -%}
{%- set key = ['tenant'] + spec['key'] -%}
{%- set reads = litmos_tenant_relations(table) or [(none, none, [])] -%}
with typed as (
{%- for tenant, relation, present in reads %}
    select
        {{ "cast('" ~ tenant ~ "' as text)" if tenant is not none else 'cast(null as text)' }} as tenant,
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
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
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
    tenant,
{%- for _, output, _ in spec['columns'] %}
    {{ output }},
{%- endfor %}
    _litmos_synced_at,
    _dlt_load_id
from ranked
where version_rank = 1
{%- endmacro %}
