-- Which EBS gp2 volumes would cost less as gp3, and by how much a month?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

volumes as (
    select
        account_id,
        region,
        resource_id,
        sum(usage_amount) as gb_months,
        sum(unblended_cost) as unblended_cost
    from cost
    where provider = 'AWS'
        and usage_type like '%EBS:VolumeUsage.gp2'
        and charge_type = 'Usage'
    group by account_id, region, resource_id
)

select
    volumes.account_id,
    volumes.region,
    volumes.resource_id,
    volumes.gb_months,
    volumes.unblended_cost,
    -- scale the window's cost to a 30.4375-day month
    volumes.unblended_cost * 30.4375 / window_days.days as monthly_cost,
    volumes.unblended_cost * 30.4375 / window_days.days * :gp3_saving_share as monthly_savings
from volumes
cross join window_days
order by monthly_savings desc, account_id, region, resource_id
