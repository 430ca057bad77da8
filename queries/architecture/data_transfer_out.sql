-- Where does traffic leave AWS for the internet, by service, region and resource?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

egress as (
    select
        service_code,
        region,
        resource_id,
        sum(usage_amount) as gb,
        sum(unblended_cost) as unblended_cost
    from cost
    where provider = 'AWS'
        and usage_type like '%DataTransfer-Out-Bytes%'
        and charge_type = 'Usage'
    group by service_code, region, resource_id
),

ranked as (
    select
        egress.*,
        -- ties go to the first service, region and resource by name, so every engine keeps the same rows
        row_number() over (
            order by egress.unblended_cost desc, egress.service_code, egress.region, egress.resource_id
        ) as rank
    from egress
)

select
    ranked.service_code,
    ranked.region,
    ranked.resource_id,
    ranked.gb,
    ranked.unblended_cost,
    ranked.unblended_cost * 30.4375 / window_days.days as monthly_cost
from ranked
cross join window_days
where ranked.rank <= :top_n
order by ranked.rank
