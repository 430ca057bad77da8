-- Which untagged resources only store data or sit idle, and so may have been forgotten?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

resources as (
    select
        resource_id,
        max(account_id) as account_id,
        max(service_code) as service_code,
        max(region) as region,
        -- storage or idle charges versus anything that shows the resource doing work
        sum(case when usage_type like '%VolumeUsage%' or usage_type like '%SnapshotUsage%'
                  or usage_type like '%TimedStorage%' or usage_type like '%IdleAddress%'
                 then 0 else 1 end) as active_lines,
        max(case when usage_type like '%IdleAddress%' then 'idle address'
                 when usage_type like '%SnapshotUsage%' then 'snapshot'
                 when usage_type like '%VolumeUsage%' then 'volume'
                 else 'storage' end) as kind,
        max(coalesce(element_at(tags, :tag_key), '')) as tag_value,
        sum(amortized_cost) as amortized_cost
    from cost
    where resource_id is not null
        and charge_type = 'Usage'
    group by resource_id
)

select
    resources.resource_id,
    resources.account_id,
    resources.service_code,
    resources.region,
    resources.kind,
    resources.amortized_cost,
    resources.amortized_cost * 30.4375 / window_days.days as monthly_cost
from resources
cross join window_days
where resources.active_lines = 0
    and resources.tag_value = ''
order by resources.amortized_cost desc, resources.resource_id
