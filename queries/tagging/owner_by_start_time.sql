-- Which untagged resources started in the same hour as tagged neighbours, and whose are they likely to be?
with resources as (
    select
        resource_id,
        max(account_id) as account_id,
        max(region) as region,
        -- the hour the resource first appears in the bill
        date_trunc('hour', min(usage_start)) as first_hour,
        max(coalesce(element_at(tags, :tag_key), '')) as tag_value,
        sum(amortized_cost) as amortized_cost
    from cost
    where resource_id is not null
        and charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
    group by resource_id
),

counted as (
    -- window functions instead of a self-join, so the source is scanned once: how many
    -- resources of the same account, region and first hour carry each tag value
    select
        resources.*,
        min(first_hour) over () as window_first_hour,
        count(*) over (partition by account_id, region, first_hour, tag_value) as value_count,
        count(case when tag_value <> '' then 1 end)
            over (partition by account_id, region, first_hour) as neighbour_count
    from resources
),

ranked as (
    -- the tag value most neighbours carry: tagged rows first, then by count, then by value
    select
        counted.*,
        first_value(tag_value) over (
            partition by account_id, region, first_hour
            order by case when tag_value <> '' then 0 else 1 end, value_count desc, tag_value
        ) as likely_value,
        first_value(value_count) over (
            partition by account_id, region, first_hour
            order by case when tag_value <> '' then 0 else 1 end, value_count desc, tag_value
        ) as votes
    from counted
)

-- resources already running when the window opens say nothing about each other
select
    resource_id,
    account_id,
    region,
    first_hour,
    likely_value,
    votes,
    neighbour_count,
    cast(votes as double) / neighbour_count as confidence,
    amortized_cost
from ranked
where tag_value = ''
    and first_hour > window_first_hour
    and neighbour_count > 0
    and account_id is not null
    and region is not null
order by confidence desc, neighbour_count desc, amortized_cost desc, resource_id
