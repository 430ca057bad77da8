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

untagged as (
    -- resources already running when the window opens say nothing about each other; they are
    -- dropped before the join (a window function, so no plan can pair them first)
    select
        resource_id,
        account_id,
        region,
        first_hour,
        amortized_cost
    from (
        select
            resources.*,
            min(resources.first_hour) over () as window_first_hour
        from resources
    ) as timed
    where tag_value = ''
        and first_hour > window_first_hour
),

neighbours as (
    select
        untagged.resource_id,
        untagged.account_id,
        untagged.region,
        untagged.first_hour,
        untagged.amortized_cost,
        tagged.tag_value,
        count(*) as votes
    from untagged
    inner join resources as tagged
        on untagged.account_id = tagged.account_id
        and untagged.region = tagged.region
        and untagged.first_hour = tagged.first_hour
        and tagged.tag_value <> ''
    group by untagged.resource_id, untagged.account_id, untagged.region, untagged.first_hour,
        untagged.amortized_cost, tagged.tag_value
),

ranked as (
    select
        neighbours.*,
        sum(votes) over (partition by resource_id) as neighbour_count,
        row_number() over (partition by resource_id order by votes desc, tag_value) as choice
    from neighbours
)

select
    resource_id,
    account_id,
    region,
    first_hour,
    tag_value as likely_value,
    votes,
    neighbour_count,
    cast(votes as double) / neighbour_count as confidence,
    amortized_cost
from ranked
where choice = 1
order by confidence desc, neighbour_count desc, amortized_cost desc
