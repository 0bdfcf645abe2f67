{#- Tenants (one Litmos org each) whose raw schemas the staging views union, and the prefix of the
    schemas this project builds. Both come from vars that pipelines.dbt_runner.build_marts sets; a hand
    run without them builds the single-org warehouse: raw_schema as the tenant 'default'. -#}

{% macro litmos_tenants() -%}
    {#- [{name, schema}, ...] from var tenants; default [{name: 'default', schema: var raw_schema}].
        Names and schemas are checked here because they are written into SQL. -#}
    {%- set given = var('tenants', none) -%}
    {%- if given is none or given == '' -%}
        {%- set given = [{'name': 'default', 'schema': var('raw_schema', 'litmos_raw')}] -%}
    {%- endif -%}
    {%- if given is string or given is mapping or given | length == 0 -%}
        {{ exceptions.raise_compiler_error("var tenants must be a non-empty list of {name, schema}, e.g. --vars '{tenants: [{name: acme, schema: litmos_raw__acme}]}'") }}
    {%- endif -%}
    {%- set tenants = [] -%}
    {%- set seen = [] -%}
    {%- for item in given -%}
        {%- set name = (item['name'] if item is mapping else '') | string -%}
        {%- set schema = (item['schema'] if item is mapping else '') | string -%}
        {%- if modules.re.match('^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$', name) is none -%}
            {{ exceptions.raise_compiler_error("var tenants: tenant name '" ~ name ~ "' is not valid: use letters, digits, '_' and '-', e.g. acme") }}
        {%- endif -%}
        {%- if modules.re.match('^[A-Za-z_][A-Za-z0-9_]{0,62}$', schema) is none -%}
            {{ exceptions.raise_compiler_error("var tenants: raw schema '" ~ schema ~ "' of tenant '" ~ name ~ "' is not a schema name: use the tenant's dlt dataset, e.g. litmos_raw__" ~ name) }}
        {%- endif -%}
        {%- if name in seen -%}
            {{ exceptions.raise_compiler_error("var tenants: tenant '" ~ name ~ "' is listed twice") }}
        {%- endif -%}
        {%- do seen.append(name) -%}
        {%- do tenants.append({'name': name, 'schema': schema}) -%}
    {%- endfor -%}
    {{- return(tenants) -}}
{%- endmacro %}

{% macro litmos_schema_prefix() -%}
    {#- var schema_prefix, else raw_schema without its `_raw` suffix (the rule of
        pipelines.config.schema_prefix): litmos_raw -> litmos, dev_raw -> dev, other -> itself. -#}
    {%- set prefix = var('schema_prefix', none) -%}
    {%- if prefix is none or prefix == '' -%}
        {%- set raw = var('raw_schema', 'litmos_raw') | string -%}
        {%- set prefix = raw[:-4] if raw.endswith('_raw') and raw | length > 4 else raw -%}
    {%- endif -%}
    {%- set prefix = prefix | string | trim -%}
    {%- if modules.re.match('^[A-Za-z_][A-Za-z0-9_]{0,40}$', prefix) is none -%}
        {{ exceptions.raise_compiler_error("var schema_prefix '" ~ prefix ~ "' is not valid: use letters, digits and '_', e.g. litmos") }}
    {%- endif -%}
    {{- return(prefix) -}}
{%- endmacro %}

{% macro litmos_tenant_relations(table) -%}
    {#- [(tenant name, relation, present column names)] of the tenants whose raw `table` exists; a tenant
        whose schema or table is not there yet (its first load failed, or the API sent no rows) is
        skipped, so it cannot break the other tenants' marts. Empty at parse time. -#}
    {%- set base = source('litmos', table) -%}
    {%- set found = [] -%}
    {%- for tenant in litmos_tenants() -%}
        {%- set relation = base.incorporate(path={'schema': tenant['schema']}) -%}
        {%- set present = litmos_existing_columns(relation) -%}
        {%- if present | length > 0 -%}
            {%- do found.append((tenant['name'], relation, present)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(found) -}}
{%- endmacro %}

{% macro litmos_tenant_values() -%}
    {#- The configured tenants as a one-column row set (tenant), for checks that compare per tenant. -#}
    {%- for tenant in litmos_tenants() %}
    select cast('{{ tenant['name'] }}' as text) as tenant{{ ' union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
