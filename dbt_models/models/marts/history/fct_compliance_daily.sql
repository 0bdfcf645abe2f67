{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['tenant', 'snapshot_date'],
        full_refresh=false,
        indexes=[{'columns': ['snapshot_date', 'tenant']}] if target.type == 'postgres' else [],
    )
}}
-- The compliance history: one row per (tenant, snapshot_date, user, course), the fct_compliance row of
-- that (user, course) as it was on snapshot_date. Every build writes the day it evaluates (var
-- as_of_date): the rows of fct_compliance, is_reconstructed = false. Incremental, delete+insert on
-- (tenant, snapshot_date): rebuilding a day replaces that day's rows, other days are kept.
-- full_refresh = false: `dbt build --full-refresh` keeps this table (a past day cannot be built again
-- exactly); to start the history over, drop the table by hand (README.md, "History and trends").
--
-- First build (the table does not exist): the days before as_of_date, at most var history_backfill_days
-- (default 365) of them, are reconstructed from the dates the warehouse holds, is_reconstructed = true:
--   * a row exists on day D only if its (user, course) existed by D: the UTC date of the earliest of its
--     first assignment, start and completion is <= D (a row with none of these dates is left out);
--   * it is completed on D only if completed_at (UTC date) <= D (completed without a date: from the start);
--   * its compliant-till date holds on D unless the completion it derives from came after D;
--   * the status on D is macro compliance_status evaluated at D (fct_compliance's rules), due date as loaded.
-- What it cannot know (README.md): earlier completions that the latest result replaced, assignments and
-- results since removed, users and courses since deactivated, due dates since changed, team moves.
-- A late build (as_of_date before the latest day the table holds: a missed night built afterwards) sees
-- data loaded after its day, so it writes its day by the same reconstruction, is_reconstructed = true.
with today as (
    select
        tenant,
        user_id,
        course_id,
        user_course_key,
        compliance_status,
        is_assigned,
        is_completed,
        completed_at,
        due_date,
        compliant_till_date
    from {{ ref('fct_compliance') }}
),

{%- if is_incremental() %}

latest as (
    -- the latest day already held (an index-only scan on Postgres)
    select max(snapshot_date) as latest_day from {{ this }}
),
{%- endif %}

started as (
    select
        today.*,
        {{ utc_date('completion.first_assigned_at') }} as assigned_on,
        {{ utc_date('completion.started_at') }} as started_on,
        {{ utc_date('today.completed_at') }} as completed_on
    from today
    inner join {{ ref('fct_course_completion') }} as completion
        on completion.user_course_key = today.user_course_key
),

dated as (
    select
        *,
        -- the earliest known of the three dates (least() of the non-NULL ones on both warehouses)
        least(coalesce(assigned_on, started_on, completed_on), coalesce(started_on, assigned_on, completed_on),
              coalesce(completed_on, assigned_on, started_on)) as existed_on
    from started
),

past_days as (
    {%- if is_incremental() %}
    -- a late build reconstructs its own day; a build of the latest day or later writes today's rows
    select {{ as_of_date() }} as snapshot_date from latest where {{ as_of_date() }} < latest.latest_day
    {%- else %}
    select cast(day_start as date) as snapshot_date
    from generate_series(
        cast({{ add_days(as_of_date(), -1 * (history_backfill_days() | int)) }} as timestamp),
        cast({{ add_days(as_of_date(), -1) }} as timestamp),
        interval '1 day'
    ) as series (day_start)
    {%- endif %}
),

past as (
    select
        dated.*,
        past_days.snapshot_date,
        dated.is_completed and coalesce(dated.completed_on <= past_days.snapshot_date, true) as completed_then,
        case
            when dated.is_completed and dated.completed_on > past_days.snapshot_date then null
            else dated.compliant_till_date
        end as compliant_till_then
    from dated
    inner join past_days on past_days.snapshot_date >= dated.existed_on
),

reconstructed as (
    select
        tenant,
        snapshot_date,
        user_id,
        course_id,
        user_course_key,
        {{ compliance_status('compliant_till_then', 'completed_then', 'due_date', 'snapshot_date') }} as compliance_status,
        is_assigned,
        completed_then as is_completed,
        case when completed_then then completed_at end as completed_at,
        due_date,
        compliant_till_then as compliant_till_date,
        true as is_reconstructed
    from past
),

snapshots as (
    select
        tenant,
        {{ as_of_date() }} as snapshot_date,
        user_id,
        course_id,
        user_course_key,
        compliance_status,
        is_assigned,
        is_completed,
        completed_at,
        due_date,
        compliant_till_date,
        false as is_reconstructed
    from today
    {%- if is_incremental() %}
    where not exists (select 1 from latest where {{ as_of_date() }} < latest.latest_day)
    {%- endif %}
    union all
    select * from reconstructed
)

select
    tenant,
    snapshot_date,
    user_id,
    course_id,
    user_course_key,
    compliance_status,
    is_assigned,
    is_completed,
    completed_at,
    due_date,
    compliant_till_date,
    is_reconstructed,
    cast(case when compliance_status in ('compliant', 'expiring_soon') then 1 else 0 end as integer) as is_compliant,
    cast(case when compliance_status = 'expiring_soon' then 1 else 0 end as integer) as is_expiring_soon,
    cast(case when compliance_status = 'expired' then 1 else 0 end as integer) as is_expired,
    cast(case when compliance_status = 'overdue' then 1 else 0 end as integer) as is_overdue,
    cast(case when compliance_status = 'not_completed' then 1 else 0 end as integer) as is_not_completed
from snapshots
