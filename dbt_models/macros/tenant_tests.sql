{#- dbt's built-in `unique` and `relationships` tests, per tenant. Every model of this project carries a
    `tenant` column (staging adds it, see staging.sql), two orgs can hold the same ids, and a key is only a
    key within its tenant: so in this project `unique` means unique per (tenant, column) and
    `relationships` means the (tenant, value) pair exists in the parent. They override dbt's own
    default__test_* through adapter.dispatch (the root project is searched first), so tests keep dbt's
    names (unique_dim_users_user_id, relationships_..._ref_dim_users_). -#}

{% macro default__test_unique(model, column_name) %}
select
    tenant,
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
group by tenant, {{ column_name }}
having count(*) > 1
{% endmacro %}

{% macro default__test_relationships(model, column_name, to, field) %}
with child as (
    select tenant, {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select tenant, {{ field }} as to_field
    from {{ to }}
)

select
    child.tenant,
    child.from_field
from child
left join parent
    on parent.tenant = child.tenant and parent.to_field = child.from_field
where parent.to_field is null
{% endmacro %}
