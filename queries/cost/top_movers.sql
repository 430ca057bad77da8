-- Which resources' daily cost moved most between the two latest settled days?
with settled as (
    -- CUR keeps revising the last ~48 hours: compare days that have settled
    select
        date_add('day', -:settle_days, max(usage_date)) as later_day,
        date_add('day', -:settle_days - 1, max(usage_date)) as earlier_day
    from cost
),

daily as (
    select
        cost.resource_id,
        max(cost.service_code) as service_code,
        max(cost.account_id) as account_id,
        sum(case when cost.usage_date = settled.earlier_day then cost.unblended_cost else 0 end) as earlier_cost,
        sum(case when cost.usage_date = settled.later_day then cost.unblended_cost else 0 end) as later_cost,
        max(settled.earlier_day) as earlier_day,
        max(settled.later_day) as later_day
    from cost
    cross join settled
    where cost.resource_id is not null
        and cost.usage_date in (settled.earlier_day, settled.later_day)
    group by cost.resource_id
)

select
    resource_id,
    service_code,
    account_id,
    earlier_day,
    later_day,
    earlier_cost,
    later_cost,
    later_cost - earlier_cost as change_usd,
    case when earlier_cost > 0 then (later_cost - earlier_cost) / earlier_cost * 100 end as change_pct
from daily
where abs(later_cost - earlier_cost) >= :min_change_usd
order by abs(later_cost - earlier_cost) desc, resource_id
