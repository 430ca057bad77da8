-- How much of the commitments is used, and how much eligible usage do they cover?
with commitments as (
    -- one scan: commitment lines grouped by type, every other line in a group of its own whose
    -- on-demand usage the window sums below still count as eligible
    select
        case when charge_type in ('SavingsPlanCoveredUsage', 'SavingsPlanRecurringFee') then 'Savings Plan'
             when charge_type in ('DiscountedUsage', 'RIFee') then 'Reserved' end as commitment_type,
        -- used: the amortised cost of covered usage; unused: what the fee lines still carry
        sum(case when charge_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then amortized_cost else 0 end)
            as used_cost,
        sum(case when charge_type in ('SavingsPlanRecurringFee', 'RIFee') then amortized_cost else 0 end) as unused_cost,
        sum(case when charge_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then public_cost else 0 end)
            as covered_on_demand_cost,
        -- on-demand usage a commitment of that type could have covered
        sum(sum(case when purchase_option = 'OnDemand' and charge_type = 'Usage'
                      and (usage_type like '%BoxUsage%' or usage_type like '%Fargate%' or service_code = 'AWSLambda')
                     then unblended_cost else 0 end)) over () as savings_plan_on_demand,
        sum(sum(case when purchase_option = 'OnDemand' and charge_type = 'Usage'
                      and (usage_type like '%NodeUsage%' or usage_type like '%InstanceUsage%')
                     then unblended_cost else 0 end)) over () as reserved_on_demand
    from cost
    group by 1
)

select
    commitment_type,
    used_cost,
    unused_cost,
    case when used_cost + unused_cost > 0
        then used_cost / (used_cost + unused_cost) * 100 end as utilization_pct,
    covered_on_demand_cost,
    case commitment_type when 'Savings Plan' then savings_plan_on_demand
         else reserved_on_demand end as on_demand_eligible_cost,
    covered_on_demand_cost
        / nullif(covered_on_demand_cost
                 + case commitment_type when 'Savings Plan' then savings_plan_on_demand
                        else reserved_on_demand end, 0) * 100 as coverage_pct
from commitments
where commitment_type is not null
order by commitment_type
