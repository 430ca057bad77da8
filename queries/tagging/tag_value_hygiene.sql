-- Which values of a tag key differ only by case, spaces or synonyms, and how much spend carries an empty value?
with tagged as (
    select
        resource_id,
        amortized_cost,
        element_at(tags, :tag_key) as raw_value
    from cost
    where resource_id is not null
        and element_at(tags, :tag_key) is not null
),

normalised as (
    select
        resource_id,
        amortized_cost,
        raw_value,
        -- the value a policy would enforce: trimmed, lower case, common synonyms folded
        case lower(trim(raw_value))
            when 'production' then 'prod'
            when 'prd' then 'prod'
            when 'development' then 'dev'
            when 'stage' then 'staging'
            when 'stg' then 'staging'
            else lower(trim(raw_value))
        end as canonical_value
    from tagged
)

select
    canonical_value,
    -- sorted, so every engine lists the same variants in the same order
    array_join(transform(array_sort(array_agg(distinct raw_value)), v -> '"' || v || '"'), ', ') as variants,
    count(distinct raw_value) as variant_count,
    count(distinct resource_id) as resources,
    sum(amortized_cost) as amortized_cost,
    case when canonical_value = '' then 'empty value' else 'variants' end as problem
from normalised
group by canonical_value
having count(distinct raw_value) > 1 or canonical_value = ''
order by amortized_cost desc, canonical_value
