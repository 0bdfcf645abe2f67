-- Transitive closure of the manager hierarchy (users.ManagerId = the manager's user id): one row per
-- (tenant, manager, user) for every user below a manager, depth 1 = direct report. Walks ManagerId
-- upwards from every user the warehouse holds, active or not (the chain is structural; marts decide whom
-- they count). A manager id naming no user the warehouse holds ends the chain (no row for that manager),
-- and the `visited` guard plus the depth bound stop a cyclic chain (bad data) instead of recursing forever:
-- a user is never listed below itself.
with recursive users as (
    select tenant, user_id, manager_id
    from {{ ref('stg_litmos__users') }}
),

walk as (
    select
        reports.tenant,
        managers.user_id as manager_user_id,
        reports.user_id,
        1 as depth,
        cast('/' || reports.user_id || '/' || managers.user_id || '/' as text) as visited
    from users as reports
    inner join users as managers
        on managers.tenant = reports.tenant and managers.user_id = reports.manager_id
    where managers.user_id <> reports.user_id

    union all

    select
        walk.tenant,
        next_manager.user_id as manager_user_id,
        walk.user_id,
        walk.depth + 1 as depth,
        cast(walk.visited || next_manager.user_id || '/' as text) as visited
    from walk
    inner join users as current_manager
        on current_manager.tenant = walk.tenant and current_manager.user_id = walk.manager_user_id
    inner join users as next_manager
        on next_manager.tenant = current_manager.tenant and next_manager.user_id = current_manager.manager_id
    where position('/' || next_manager.user_id || '/' in walk.visited) = 0
        and walk.depth < 100
)

select
    tenant,
    manager_user_id,
    user_id,
    depth
from walk
