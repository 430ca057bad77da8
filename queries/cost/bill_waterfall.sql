-- How does the bill get from usage to its net total, charge type by charge type?
select
    currency,
    charge_type,
    -- size
    count(*) as line_items,
    -- money: billed, amortised and at on-demand rates (covered usage is shown at the latter)
    sum(unblended_cost) as unblended_cost,
    sum(amortized_cost) as amortized_cost,
    sum(public_cost) as public_cost
from cost
group by currency, charge_type
order by currency, unblended_cost desc, charge_type
