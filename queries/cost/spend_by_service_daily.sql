-- How much did each service cost on each day of the window?
with daily as (
    select
        usage_date,
        service_code,
        service_name,
        -- usage before credits: on-demand usage as billed, covered usage at on-demand rates
        sum(case
            when charge_type = 'Usage' then unblended_cost
            when charge_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then public_cost
            else 0
        end) as usage_cost,
        sum(unblended_cost) as unblended_cost,
        sum(amortized_cost) as amortized_cost
    from cost
    group by usage_date, service_code, service_name
)

select
    usage_date,
    service_code,
    service_name,
    usage_cost,
    unblended_cost,
    amortized_cost
from daily
order by usage_date, usage_cost desc, service_code
