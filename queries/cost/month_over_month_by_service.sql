-- Which services grew or shrank from one billing month to the next (on daily run rate)?
with monthly as (
    select
        billing_period,
        service_code,
        service_name,
        sum(unblended_cost) as unblended_cost,
        count(distinct usage_date) as days
    from cost
    group by billing_period, service_code, service_name
),

with_previous as (
    select
        billing_period,
        service_code,
        service_name,
        unblended_cost,
        days,
        -- partial months are compared on cost per day, not on totals
        unblended_cost / days as daily_cost,
        lag(unblended_cost / days) over (partition by service_code order by billing_period) as previous_daily_cost,
        lag(unblended_cost) over (partition by service_code order by billing_period) as previous_cost
    from monthly
)

select
    billing_period,
    service_code,
    service_name,
    unblended_cost,
    days,
    daily_cost,
    previous_cost,
    previous_daily_cost,
    (daily_cost - previous_daily_cost) * 30.4375 as monthly_change_usd,
    case
        when previous_daily_cost > 0 then (daily_cost - previous_daily_cost) / previous_daily_cost * 100
    end as change_pct
from with_previous
where abs(unblended_cost) >= :min_cost
order by billing_period desc, abs(coalesce(daily_cost - previous_daily_cost, 0)) desc
