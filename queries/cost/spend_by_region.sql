-- How much does each region cost, and what share of the bill is it?
with by_region as (
    select
        coalesce(region, 'global') as region,
        sum(unblended_cost) as unblended_cost,
        sum(amortized_cost) as amortized_cost
    from cost
    group by coalesce(region, 'global')
)

select
    region,
    unblended_cost,
    amortized_cost,
    unblended_cost / sum(unblended_cost) over () * 100 as share_pct
from by_region
order by unblended_cost desc, region
