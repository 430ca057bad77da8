-- How much does each value of a tag key spend, with untagged spend as its own row?
select
    case when coalesce(element_at(tags, :tag_key), '') = '' then '(untagged)' else element_at(tags, :tag_key) end
        as tag_value,
    count(distinct resource_id) as resources,
    sum(unblended_cost) as unblended_cost,
    sum(amortized_cost) as amortized_cost
from cost
where charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
group by 1
order by amortized_cost desc, tag_value
