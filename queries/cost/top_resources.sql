-- Which resources cost the most, and who owns them?
with resources as (
    select
        resource_id,
        max(account_name) as account_name,
        max(service_code) as service_code,
        max(region) as region,
        max(coalesce(element_at(tags, 'owner'), '')) as owner,
        sum(unblended_cost) as unblended_cost,
        sum(amortized_cost) as amortized_cost
    from cost
    where resource_id is not null
    group by resource_id
),

ranked as (
    select
        resources.*,
        -- ties go to the lower resource id, so every engine keeps the same rows
        row_number() over (order by amortized_cost desc, resource_id) as rank
    from resources
)

select
    resource_id,
    account_name,
    service_code,
    region,
    owner,
    unblended_cost,
    amortized_cost
from ranked
where rank <= :top_n
order by rank
