-- One row per (tenant, manager): every user the warehouse holds whom at least one user names as its
-- manager (users.ManagerId), active or not, with the number of reports that are not deactivated:
-- direct_report_count (depth 1) and total_report_count (everyone below through the manager chain,
-- int_manager_chain). The chain runs through deactivated managers; only the counted reports must be active.
with chain as (
    select * from {{ ref('int_manager_chain') }}
),

users as (
    select * from {{ ref('stg_litmos__users') }}
),

report_counts as (
    select
        chain.tenant,
        chain.manager_user_id,
        count(distinct chain.user_id) filter (where chain.depth = 1 and reports.is_active) as direct_report_count,
        count(distinct chain.user_id) filter (where reports.is_active) as total_report_count
    from chain
    inner join users as reports on reports.tenant = chain.tenant and reports.user_id = chain.user_id
    group by chain.tenant, chain.manager_user_id
)

select
    report_counts.tenant,
    report_counts.manager_user_id,
    managers.full_name as manager_name,
    managers.user_name,
    managers.email,
    managers.is_active,
    cast(report_counts.direct_report_count as bigint) as direct_report_count,
    cast(report_counts.total_report_count as bigint) as total_report_count
from report_counts
inner join users as managers
    on managers.tenant = report_counts.tenant and managers.user_id = report_counts.manager_user_id
