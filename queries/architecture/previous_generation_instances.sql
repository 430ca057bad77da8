-- Which instances run on previous-generation types, and what would the current generation save?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

instances as (
    select
        account_id,
        region,
        resource_id,
        instance_type,
        regexp_extract(instance_type, '^([a-z0-9]+)\.', 1) as family,
        sum(usage_amount) as hours,
        sum(unblended_cost) as unblended_cost
    from cost
    where provider = 'AWS'
        and regexp_like(instance_type, '^(m1|m2|m3|m4|c1|c3|c4|r3|r4|t1|t2|i2|d2|g2|g3|p2|x1|cr1|hs1)\.')
        and charge_type = 'Usage'
        and resource_id is not null
    group by account_id, region, resource_id, instance_type
)

select
    instances.account_id,
    instances.region,
    instances.resource_id,
    instances.instance_type,
    -- the current-generation family to move to
    case instances.family
        when 't1' then 't3' when 't2' then 't3'
        when 'm1' then 'm7i' when 'm2' then 'r7i' when 'm3' then 'm7i' when 'm4' then 'm7i'
        when 'c1' then 'c7i' when 'c3' then 'c7i' when 'c4' then 'c7i'
        when 'r3' then 'r7i' when 'r4' then 'r7i' when 'cr1' then 'r7i' when 'x1' then 'x2idn'
        when 'i2' then 'i4i' when 'hs1' then 'd3' when 'd2' then 'd3'
        when 'g2' then 'g5' when 'g3' then 'g5' when 'p2' then 'p3'
    end as current_family,
    instances.hours,
    instances.unblended_cost,
    instances.unblended_cost * 30.4375 / window_days.days as monthly_cost,
    instances.unblended_cost * 30.4375 / window_days.days * :saving_share as monthly_savings
from instances
cross join window_days
order by monthly_savings desc, account_id, region, resource_id, instance_type
