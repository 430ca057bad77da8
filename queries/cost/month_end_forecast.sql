-- What will the latest billing month cost at today's run rate, and how wide is the range?
with daily as (
    select
        billing_period,
        usage_date,
        sum(unblended_cost) as unblended_cost
    from cost
    group by billing_period, usage_date
),

latest as (
    select max(billing_period) as billing_period
    from daily
),

month_to_date as (
    select
        daily.billing_period,
        count(*) as days_with_data,
        date_diff('day', daily.billing_period, date_add('month', 1, daily.billing_period)) as days_in_month,
        sum(daily.unblended_cost) as cost_to_date,
        avg(daily.unblended_cost) as avg_daily_cost,
        coalesce(stddev_samp(daily.unblended_cost), 0) as daily_stddev
    from daily
    inner join latest
        on daily.billing_period = latest.billing_period
    group by daily.billing_period
)

select
    billing_period,
    days_with_data,
    days_in_month,
    cost_to_date,
    avg_daily_cost,
    cost_to_date + avg_daily_cost * (days_in_month - days_with_data) as forecast_cost,
    -- ~95% band for the remaining days if daily costs stay as spread as so far
    cost_to_date + avg_daily_cost * (days_in_month - days_with_data)
        - 1.96 * daily_stddev * sqrt(days_in_month - days_with_data) as forecast_low,
    cost_to_date + avg_daily_cost * (days_in_month - days_with_data)
        + 1.96 * daily_stddev * sqrt(days_in_month - days_with_data) as forecast_high
from month_to_date
