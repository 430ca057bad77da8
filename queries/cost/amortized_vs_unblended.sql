-- How do unblended, amortised and on-demand-equivalent costs compare by purchase option?
select
    purchase_option,
    sum(unblended_cost) as unblended_cost,
    sum(amortized_cost) as amortized_cost,
    sum(public_cost) as on_demand_equivalent,
    -- what commitments and spot saved against list price
    sum(case when purchase_option in ('SavingsPlan', 'Reserved', 'Spot')
             and charge_type in ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage')
             then public_cost - amortized_cost else 0 end) as savings_vs_on_demand
from cost
group by purchase_option
order by amortized_cost desc, purchase_option
