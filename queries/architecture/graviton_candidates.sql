-- Which x86 instance families have a Graviton (ARM) equivalent, and what would moving save?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

x86 as (
    select
        account_id,
        region,
        instance_type,
        regexp_extract(instance_type, '^([a-z0-9]+)\.', 1) as family,
        count(distinct resource_id) as instances,
        -- the instances themselves (sorted: the same list on every engine), so a finding
        -- lists them rather than counting groups
        array_join(array_sort(array_agg(distinct resource_id)), ', ') as resource_ids,
        sum(usage_amount) as hours,
        sum(amortized_cost) as amortized_cost
    from cost
    where provider = 'AWS'
        and service_code = 'AmazonEC2'
        and (usage_type like '%BoxUsage%' or usage_type like '%SpotUsage%')
        and regexp_like(instance_type, '^(m5|m5a|m5n|m6i|m6a|m7i|c5|c5a|c5n|c6i|c6a|c7i|r5|r5a|r5n|r6i|r6a|r7i|t3|t3a)\.')
    group by account_id, region, instance_type
)

select
    x86.account_id,
    x86.region,
    x86.instance_type,
    -- the Graviton family of the same shape
    case substr(x86.family, 1, 1)
        when 'm' then 'm7g' when 'c' then 'c7g' when 'r' then 'r7g' when 't' then 't4g'
    end as graviton_family,
    x86.instances,
    x86.resource_ids,
    x86.hours,
    x86.amortized_cost,
    x86.amortized_cost * 30.4375 / window_days.days as monthly_cost,
    x86.amortized_cost * 30.4375 / window_days.days * :saving_share as monthly_savings
from x86
cross join window_days
order by monthly_savings desc, account_id, region, instance_type
