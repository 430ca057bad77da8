-- Which resources move the most data between availability zones, and what does it cost a month?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

inter_az as (
    select
        account_id,
        region,
        resource_id,
        -- the AZ the resource runs in; transfer lines may not carry it
        max(availability_zone) as availability_zone,
        sum(usage_amount) as gb,
        sum(unblended_cost) as unblended_cost
    from cost
    where provider = 'AWS'
        and usage_type like '%DataTransfer-Regional-Bytes%'
        and charge_type = 'Usage'
        and resource_id is not null
    group by account_id, region, resource_id
)

select
    inter_az.account_id,
    inter_az.region,
    inter_az.resource_id,
    inter_az.availability_zone,
    inter_az.gb,
    inter_az.unblended_cost,
    inter_az.unblended_cost * 30.4375 / window_days.days as monthly_cost,
    inter_az.unblended_cost * 30.4375 / window_days.days * :avoidable_share as monthly_savings
from inter_az
cross join window_days
where inter_az.unblended_cost * 30.4375 / window_days.days >= :min_monthly_cost
order by monthly_cost desc, account_id, region, resource_id, availability_zone
