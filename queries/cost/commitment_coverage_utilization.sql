-- How much of the commitments is used, and how much eligible usage do they cover?
with commitments as (
    select
        case when charge_type in ('SavingsPlanCoveredUsage', 'SavingsPlanRecurringFee') then 'Savings Plan'
             else 'Reserved' end as commitment_type,
        -- used: the amortised cost of covered usage; unused: what the fee lines still carry
        sum(case when charge_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then amortized_cost else 0 end)
            as used_cost,
        sum(case when charge_type in ('SavingsPlanRecurringFee', 'RIFee') then amortized_cost else 0 end) as unused_cost,
        sum(case when charge_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then public_cost else 0 end)
            as covered_on_demand_cost
    from cost
    where charge_type in ('SavingsPlanCoveredUsage', 'SavingsPlanRecurringFee', 'DiscountedUsage', 'RIFee')
    group by 1
),

eligible as (
    -- on-demand usage a commitment of that type could have covered
    select
        sum(case when purchase_option = 'OnDemand' and charge_type = 'Usage'
                  and (usage_type like '%BoxUsage%' or usage_type like '%Fargate%' or service_code = 'AWSLambda')
                 then unblended_cost else 0 end) as savings_plan_on_demand,
        sum(case when purchase_option = 'OnDemand' and charge_type = 'Usage'
                  and (usage_type like '%NodeUsage%' or usage_type like '%InstanceUsage%')
                 then unblended_cost else 0 end) as reserved_on_demand
    from cost
)

select
    commitments.commitment_type,
    commitments.used_cost,
    commitments.unused_cost,
    case when commitments.used_cost + commitments.unused_cost > 0
        then commitments.used_cost / (commitments.used_cost + commitments.unused_cost) * 100 end as utilization_pct,
    commitments.covered_on_demand_cost,
    case commitments.commitment_type when 'Savings Plan' then eligible.savings_plan_on_demand
         else eligible.reserved_on_demand end as on_demand_eligible_cost,
    commitments.covered_on_demand_cost
        / nullif(commitments.covered_on_demand_cost
                 + case commitments.commitment_type when 'Savings Plan' then eligible.savings_plan_on_demand
                        else eligible.reserved_on_demand end, 0) * 100 as coverage_pct
from commitments
cross join eligible
order by commitments.commitment_type
