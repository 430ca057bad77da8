-- Which days cost unusually much for a service, judged against its trailing 14 days?
with daily as (
    select
        usage_date,
        service_code,
        service_name,
        -- usage before credits: on-demand usage as billed, covered usage at on-demand rates
        sum(case when charge_type = 'Usage' then unblended_cost else public_cost end) as usage_cost
    from cost
    where charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
    group by usage_date, service_code, service_name
),

baseline as (
    select
        daily.*,
        avg(usage_cost) over (partition by service_code order by usage_date rows between 14 preceding and 1 preceding) as baseline_cost,
        stddev_samp(usage_cost) over (partition by service_code order by usage_date rows between 14 preceding and 1 preceding) as baseline_stddev,
        count(*) over (partition by service_code order by usage_date rows between 14 preceding and 1 preceding) as baseline_days
    from daily
),

scored as (
    select
        baseline.*,
        -- a flat baseline has no spread: score only real jumps, never divide by zero
        case
            when baseline_stddev > 0 then (usage_cost - baseline_cost) / baseline_stddev
        end as z_score
    from baseline
    where baseline_days >= 7
)

select
    usage_date,
    service_code,
    service_name,
    usage_cost,
    baseline_cost,
    baseline_stddev,
    z_score,
    usage_cost - baseline_cost as excess_cost,
    -- a real anomaly is both improbable (z-score or a jump off a flat baseline) and material
    case
        when not (usage_cost - baseline_cost >= :min_excess_usd
                  and usage_cost - baseline_cost >= baseline_cost * :min_excess_pct / 100) then null
        when z_score >= :high_z then 'high'
        when z_score >= :medium_z then 'medium'
        when z_score >= :low_z then 'low'
        when baseline_stddev = 0 then 'high'
    end as severity,
    coalesce(z_score >= :low_z or baseline_stddev = 0, false)
        and usage_cost - baseline_cost >= :min_excess_usd
        and usage_cost - baseline_cost >= baseline_cost * :min_excess_pct / 100 as is_anomaly
from scored
order by is_anomaly desc, z_score desc, usage_date, service_code
