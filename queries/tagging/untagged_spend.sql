-- How much taggable spend per account and service carries no value for the tag key?
with taggable as (
    select
        account_id,
        account_name,
        service_code,
        resource_id,
        amortized_cost,
        -- a tag is present when its value is neither NULL nor ''
        coalesce(element_at(tags, :tag_key), '') = '' as is_untagged
    from cost
    where resource_id is not null
        and charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
),

by_service as (
    select
        account_id,
        account_name,
        service_code,
        sum(amortized_cost) as total_cost,
        sum(case when is_untagged then amortized_cost else 0 end) as untagged_cost,
        count(distinct case when is_untagged then resource_id end) as untagged_resources,
        count(distinct resource_id) as resources
    from taggable
    group by account_id, account_name, service_code
)

select
    account_id,
    account_name,
    service_code,
    total_cost,
    untagged_cost,
    case when total_cost <> 0 then untagged_cost / total_cost * 100 end as untagged_pct,
    untagged_resources,
    resources
from by_service
where untagged_cost > 0
order by untagged_cost desc, account_id, service_code
