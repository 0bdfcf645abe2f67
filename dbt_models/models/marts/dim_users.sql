-- One row per (tenant, Litmos user), active or not, with team membership counts.
with users as (
    select * from {{ ref('stg_litmos__users') }}
),

memberships as (
    select tenant, user_id, count(*) as active_team_count  -- a team not held (partial history) counts
    from {{ ref('int_active_team_memberships') }}
    group by tenant, user_id
)

select
    users.tenant,
    users.user_id,
    users.original_user_id,
    users.user_name,
    users.first_name,
    users.last_name,
    users.full_name,
    users.email,
    users.access_level,
    users.is_active,
    users.job_title,
    users.company_name,
    users.country,
    users.brand,
    users.manager_id,
    users.manager_name,
    users.last_login as last_login_at,
    users.expiration_date as expires_at,
    coalesce(memberships.active_team_count, 0) as active_team_count,
    users.created_date as created_at,
    users.updated_date as updated_at
from users
left join memberships on memberships.tenant = users.tenant and memberships.user_id = users.user_id
