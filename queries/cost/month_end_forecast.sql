-- What will the latest billing month cost at today's run rate, and how wide is the range?
with daily as (
    select
        billing_period,
        usage_date,
        -- what recurs day by day: the run rate the rest of the month follows
        sum(case
            when charge_type in ('Fee', 'SavingsPlanUpfrontFee', 'Refund', 'RIFee', 'Tax') then 0
            else unblended_cost
        end) as run_rate_cost,
        -- upfront purchases and refunds happen once; monthly fees and tax are posted once a month
        sum(case
            when charge_type in ('Fee', 'SavingsPlanUpfrontFee', 'Refund') then unblended_cost
            else 0
        end) as one_time_cost,
        sum(case when charge_type in ('RIFee', 'Tax') then unblended_cost else 0 end) as monthly_fee_cost
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
        sum(daily.run_rate_cost) as run_rate_to_date,
        sum(daily.one_time_cost) as one_time_cost,
        sum(daily.monthly_fee_cost) as monthly_fee_cost,
        avg(daily.run_rate_cost) as avg_daily_cost,
        coalesce(stddev_samp(daily.run_rate_cost), 0) as daily_stddev
    from daily
    inner join latest
        on daily.billing_period = latest.billing_period
    group by daily.billing_period
)

select
    billing_period,
    days_with_data,
    days_in_month,
    run_rate_to_date + one_time_cost + monthly_fee_cost as cost_to_date,
    one_time_cost,
    monthly_fee_cost,
    avg_daily_cost,
    -- one-time charges and monthly fees are counted once, never extrapolated
    run_rate_to_date + one_time_cost + monthly_fee_cost
        + avg_daily_cost * (days_in_month - days_with_data) as forecast_cost,
    -- ~95% band for the remaining days from the day-to-day spread; too few days give no band
    case when days_with_data >= :min_days then
        run_rate_to_date + one_time_cost + monthly_fee_cost
            + avg_daily_cost * (days_in_month - days_with_data)
            - 1.96 * daily_stddev * sqrt(days_in_month - days_with_data)
    end as forecast_low,
    case when days_with_data >= :min_days then
        run_rate_to_date + one_time_cost + monthly_fee_cost
            + avg_daily_cost * (days_in_month - days_with_data)
            + 1.96 * daily_stddev * sqrt(days_in_month - days_with_data)
    end as forecast_high,
    case
        when days_with_data < :min_days
            then 'too few days of data for a range: ' || cast(days_with_data as varchar) || ' of ' || cast(:min_days as varchar) || ' needed'
        else 'range from the day-to-day spread of the run rate'
    end as note
from month_to_date
