-- Which public IPv4 addresses are allocated but attached to nothing, and what do they cost a month?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

idle as (
    select
        account_id,
        region,
        resource_id,
        sum(usage_amount) as idle_hours,
        sum(unblended_cost) as unblended_cost
    from cost
    where provider = 'AWS'
        and usage_type like '%IdleAddress%'
        and charge_type = 'Usage'
    group by account_id, region, resource_id
)

select
    idle.account_id,
    idle.region,
    idle.resource_id,
    idle.idle_hours,
    idle.unblended_cost,
    -- releasing the address removes its whole charge
    idle.unblended_cost * 30.4375 / window_days.days as monthly_savings
from idle
cross join window_days
order by monthly_savings desc, account_id, region, resource_id
