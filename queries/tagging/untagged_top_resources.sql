-- Which resources without a value for the tag key cost the most?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

untagged as (
    select
        resource_id,
        max(account_id) as account_id,
        max(account_name) as account_name,
        max(service_code) as service_code,
        max(region) as region,
        min(usage_date) as first_seen,
        max(usage_date) as last_seen,
        sum(amortized_cost) as amortized_cost
    from cost
    where resource_id is not null
        and charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
        and coalesce(element_at(tags, :tag_key), '') = ''
    group by resource_id
),

ranked as (
    select
        untagged.*,
        -- ties go to the lower resource id, so every engine returns the same rows
        row_number() over (order by untagged.amortized_cost desc, untagged.resource_id) as rank
    from untagged
)

select
    ranked.resource_id,
    ranked.account_id,
    ranked.account_name,
    ranked.service_code,
    ranked.region,
    ranked.first_seen,
    ranked.last_seen,
    ranked.amortized_cost,
    ranked.amortized_cost * 30.4375 / window_days.days as monthly_cost
from ranked
cross join window_days
where ranked.rank <= :top_n
order by ranked.rank
