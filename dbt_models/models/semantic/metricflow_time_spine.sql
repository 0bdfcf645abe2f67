-- MetricFlow's daily time spine (dbt >= 1.9 `time_spine` config in _semantic.yml): one row per UTC day
-- from 2000-01-01 through 2049-12-31, wide enough for every Litmos date and any as_of_date.
with digits as (
    select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

day_numbers as (
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit
        + 10000 * ten_thousands.digit as day_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
)

select {{ add_days("cast('2000-01-01' as date)", 'day_number') }} as date_day
from day_numbers
where day_number <= {{ days_between("cast('2000-01-01' as date)", "cast('2049-12-31' as date)") }}
