-- For each tag key, what share of taggable spend and of resources carries a value, per account and service?
with taggable as (
    -- one row per resource and tag set before the keys are unnested: far fewer rows than line
    -- items, and a resource whose tags changed in the window counts each set's own cost
    select
        account_id,
        account_name,
        service_code,
        resource_id,
        tags,
        sum(amortized_cost) as amortized_cost
    from cost
    where resource_id is not null
        and charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
    group by account_id, account_name, service_code, resource_id, tags
),

per_key as (
    select
        taggable.account_id,
        taggable.account_name,
        taggable.service_code,
        keys.tag_key,
        taggable.resource_id,
        taggable.amortized_cost,
        -- a tag is present when its value is neither NULL nor ''
        coalesce(element_at(taggable.tags, keys.tag_key), '') <> '' as is_tagged
    from taggable
    cross join unnest(map_keys(taggable.tags)) as keys (tag_key)
)

select
    tag_key,
    account_id,
    account_name,
    service_code,
    sum(amortized_cost) as total_cost,
    sum(case when is_tagged then amortized_cost else 0 end) as tagged_cost,
    case when sum(amortized_cost) <> 0
        then sum(case when is_tagged then amortized_cost else 0 end) / sum(amortized_cost) * 100
    end as cost_coverage_pct,
    count(distinct resource_id) as resources,
    count(distinct case when is_tagged then resource_id end) as tagged_resources,
    cast(count(distinct case when is_tagged then resource_id end) as double)
        / count(distinct resource_id) * 100 as resource_coverage_pct
from per_key
group by tag_key, account_id, account_name, service_code
order by tag_key, total_cost desc, account_id, service_code
