-- For each untagged resource, which tag value do tagged resources of the same account and service mostly carry?
with resources as (
    select
        resource_id,
        max(account_id) as account_id,
        max(service_code) as service_code,
        max(coalesce(element_at(tags, :tag_key), '')) as tag_value,
        sum(amortized_cost) as amortized_cost
    from cost
    where resource_id is not null
        and charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
    group by resource_id
),

valued as (
    -- window functions instead of a self-join, so the source is scanned once: the spend of
    -- each resource's tag value and of all tagged resources of its account and service
    select
        resources.*,
        sum(amortized_cost) over (partition by account_id, service_code, tag_value) as value_cost,
        sum(case when tag_value <> '' then amortized_cost end)
            over (partition by account_id, service_code) as tagged_cost
    from resources
),

distribution as (
    -- the most spent-on tag value of the account and service: tagged rows first, then by spend
    select
        valued.*,
        first_value(tag_value) over (
            partition by account_id, service_code
            order by case when tag_value <> '' then 0 else 1 end, value_cost desc, tag_value
        ) as likely_value,
        first_value(value_cost) over (
            partition by account_id, service_code
            order by case when tag_value <> '' then 0 else 1 end, value_cost desc, tag_value
        ) as likely_cost
    from valued
)

select
    resource_id,
    account_id,
    service_code,
    likely_value,
    case when tagged_cost > 0 then likely_cost / tagged_cost end as probability,
    amortized_cost
from distribution
where tag_value = ''
    and likely_value <> ''
    and account_id is not null
    and service_code is not null
order by amortized_cost desc, resource_id
