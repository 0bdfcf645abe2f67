{#- Compliance history (issue 16): the status rule shared by fct_compliance and the daily snapshot, the
    period arithmetic of the trend marts, and the vars they read. See README.md, "History and trends". -#}

{% macro compliance_status(compliant_till_date, is_completed, due_date, as_of) -%}
    {#- The compliance status of one (user, course) evaluated at `as_of` (a date expression), first rule
        that matches; N = var expiring_soon_days. The one definition fct_compliance (at var as_of_date)
        and fct_compliance_daily's reconstructed days (at each past day) both use. -#}
    case
        when {{ compliant_till_date }} < {{ as_of }} then 'expired'
        when {{ compliant_till_date }} <= {{ add_days(as_of, expiring_soon_days()) }} then 'expiring_soon'
        when {{ compliant_till_date }} is not null then 'compliant'
        when {{ is_completed }} then 'compliant'
        when {{ due_date }} < {{ as_of }} then 'overdue'
        else 'not_completed'
    end
{%- endmacro %}

{% macro history_backfill_days() -%}
    {#- var history_backfill_days: how many days before as_of_date the first build of fct_compliance_daily
        reconstructs (a whole number >= 0; 0 = no back-fill). -#}
    {%- set value = var('history_backfill_days', 365) | string | trim -%}
    {%- if modules.re.match('^\\d+$', value) is none -%}
        {{ exceptions.raise_compiler_error("var history_backfill_days must be a whole number of days >= 0, got '" ~ value ~ "'; pass e.g. --vars '{history_backfill_days: 365}'") }}
    {%- endif -%}
    {{- value | int -}}
{%- endmacro %}

{% macro week_start(date_expression) -%}
    {#- Monday of the ISO week of the date (date_trunc('week') is ISO in DuckDB and Postgres). -#}
    cast(date_trunc('week', cast({{ date_expression }} as date)) as date)
{%- endmacro %}

{% macro month_start(date_expression) -%}
    cast(date_trunc('month', cast({{ date_expression }} as date)) as date)
{%- endmacro %}

{% macro history_periods() -%}
    {#- (tenant, grain, period_start, period_end_date, is_reconstructed) of the periods a trend mart builds:
        day, ISO week (Monday) and calendar month; a period's figures are those of its last snapshot day
        (period_end_date). An incremental build recomputes only the periods holding as_of_date (the day,
        its week, its month); the first build, every period. Reads int_compliance_snapshot_days (one row
        per tenant and snapshot day), so finding the periods never scans the snapshot itself. -#}
    with snapshot_days as (
        select tenant, snapshot_date, is_reconstructed from {{ ref('int_compliance_snapshot_days') }}
    ),

    by_grain as (
        select tenant, 'day' as grain, snapshot_date as period_start, snapshot_date from snapshot_days
        union all
        select tenant, 'week' as grain, {{ week_start('snapshot_date') }} as period_start, snapshot_date from snapshot_days
        union all
        select tenant, 'month' as grain, {{ month_start('snapshot_date') }} as period_start, snapshot_date from snapshot_days
    ),

    period_ends as (
        select tenant, grain, period_start, max(snapshot_date) as period_end_date
        from by_grain
        {%- if is_incremental() %}
        where (grain = 'day' and period_start = {{ as_of_date() }})
            or (grain = 'week' and period_start = {{ week_start(as_of_date()) }})
            or (grain = 'month' and period_start = {{ month_start(as_of_date()) }})
        {%- endif %}
        group by tenant, grain, period_start
    )

    select period_ends.tenant, period_ends.grain, period_ends.period_start, period_ends.period_end_date,
        snapshot_days.is_reconstructed
    from period_ends
    inner join snapshot_days
        on snapshot_days.tenant = period_ends.tenant and snapshot_days.snapshot_date = period_ends.period_end_date
{%- endmacro %}

{% macro history_snapshot_window() -%}
    {#- A constant filter on snapshot_date for an incremental trend build: the days of as_of_date's week
        and month, the only days history_periods() can pick; lets DuckDB skip the other row groups. -#}
    {%- if is_incremental() -%}
    snapshot_date between least({{ week_start(as_of_date()) }}, {{ month_start(as_of_date()) }})
        and greatest({{ add_days(week_start(as_of_date()), 6) }},
                     {{ add_days(add_days(month_start(as_of_date()), 31), -1) }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{% macro trend_counts(alias) -%}
    {#- The count columns of the trend marts over fct_compliance_daily rows `alias` (NULL alias columns of
        an outer join count nothing). -#}
    count({{ alias }}.user_course_key) as tracked_count,
    count(*) filter (where {{ alias }}.is_assigned) as assigned_count,
    count(*) filter (where {{ alias }}.is_completed) as completed_count,
    count(*) filter (where {{ alias }}.compliance_status = 'compliant') as compliant_count,
    count(*) filter (where {{ alias }}.compliance_status = 'expiring_soon') as expiring_soon_count,
    count(*) filter (where {{ alias }}.compliance_status = 'expired') as expired_count,
    count(*) filter (where {{ alias }}.compliance_status = 'overdue') as overdue_count,
    count(*) filter (where {{ alias }}.compliance_status = 'not_completed') as not_completed_count
{%- endmacro %}

{% macro trend_count_names() -%}
    {{- return(['tracked_count', 'assigned_count', 'completed_count', 'compliant_count', 'expiring_soon_count',
                'expired_count', 'overdue_count', 'not_completed_count']) -}}
{%- endmacro %}

{% macro trend_filled_counts(alias) -%}
    {#- The count columns from `alias` (a left-joined counts CTE), 0 where it has no row. -#}
    {%- for column in trend_count_names() %}
    cast(coalesce({{ alias }}.{{ column }}, 0) as bigint) as {{ column }},
    {%- endfor %}
{%- endmacro %}

{% macro trend_rates(alias) -%}
    {#- compliance_rate and completion_rate over tracked_count (NULL when 0), as team_compliance_summary. -#}
    cast({{ alias }}.compliant_count + {{ alias }}.expiring_soon_count as float8) / nullif({{ alias }}.tracked_count, 0) as compliance_rate,
    cast({{ alias }}.completed_count as float8) / nullif({{ alias }}.tracked_count, 0) as completion_rate
{%- endmacro %}
