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

distribution as (
    -- spend of each tag value among tagged resources of an account and service
    select
        account_id,
        service_code,
        tag_value,
        sum(amortized_cost) as value_cost,
        sum(sum(amortized_cost)) over (partition by account_id, service_code) as tagged_cost,
        row_number() over (partition by account_id, service_code order by sum(amortized_cost) desc, tag_value)
            as choice
    from resources
    where tag_value <> ''
    group by account_id, service_code, tag_value
)

select
    resources.resource_id,
    resources.account_id,
    resources.service_code,
    distribution.tag_value as likely_value,
    case when distribution.tagged_cost > 0 then distribution.value_cost / distribution.tagged_cost end as probability,
    resources.amortized_cost
from resources
inner join distribution
    on resources.account_id = distribution.account_id
    and resources.service_code = distribution.service_code
    and distribution.choice = 1
where resources.tag_value = ''
order by resources.amortized_cost desc
