-- Which services grew or shrank from the one complete calendar month to the next (usage before credits)?
with monthly as (
    select
        billing_period,
        service_code,
        max(service_name) as service_name,
        -- usage before credits: on-demand usage as billed, covered usage at on-demand rates
        sum(case
            when charge_type = 'Usage' then unblended_cost
            when charge_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then public_cost
            else 0
        end) as usage_cost
    from cost
    -- complete calendar months only: the month to date is compared in its own section
    where billing_period >= :start_date
        and date_add('month', 1, billing_period) <= :end_date
    group by billing_period, service_code
),

months as (
    select
        max(billing_period) as billing_period,
        date_add('month', -1, max(billing_period)) as previous_period,
        min(billing_period) as first_period
    from monthly
),

compared as (
    select
        monthly.service_code,
        max(monthly.service_name) as service_name,
        max(months.billing_period) as billing_period,
        max(months.previous_period) as previous_period,
        sum(case when monthly.billing_period = months.billing_period then monthly.usage_cost else 0 end) as usage_cost,
        sum(case when monthly.billing_period = months.previous_period then monthly.usage_cost else 0 end) as previous_usage_cost
    from monthly
    cross join months
    -- two complete months are needed for a comparison
    where months.first_period <= months.previous_period
    group by monthly.service_code
)

select
    billing_period,
    previous_period,
    service_code,
    service_name,
    usage_cost,
    previous_usage_cost,
    usage_cost - previous_usage_cost as change_usd,
    -- no percentage of a month that cost (next to) nothing
    case
        when previous_usage_cost >= 0.005 then (usage_cost - previous_usage_cost) / previous_usage_cost * 100
    end as change_pct
from compared
where greatest(abs(usage_cost), abs(previous_usage_cost)) >= :min_cost
order by abs(usage_cost - previous_usage_cost) desc, service_code
