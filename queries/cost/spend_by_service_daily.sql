-- How much did each service cost on each day of the window?
with daily as (
    select
        usage_date,
        service_code,
        service_name,
        sum(unblended_cost) as unblended_cost,
        sum(amortized_cost) as amortized_cost
    from cost
    group by usage_date, service_code, service_name
)

select
    usage_date,
    service_code,
    service_name,
    unblended_cost,
    amortized_cost
from daily
order by usage_date, unblended_cost desc
