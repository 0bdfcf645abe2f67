{#- Fails with the duplicated key values when a combination of columns is not unique (composite keys),
    per tenant: every model of this project has a tenant column and keys are unique within a tenant. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns = ['tenant'] + (combination_of_columns | reject('equalto', 'tenant') | list) %}
select
    {{ columns | join(', ') }},
    count(*) as duplicate_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
