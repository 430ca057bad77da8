-- What does the billing window hold in total: rows, money, accounts, services, days?
select
    -- size
    count(*) as rows,
    count(distinct usage_date) as days,
    min(usage_date) as first_day,
    max(usage_date) as last_day,
    -- money
    sum(unblended_cost) as unblended_cost,
    sum(amortized_cost) as amortized_cost,
    sum(public_cost) as public_cost,
    -- breadth
    count(distinct account_id) as accounts,
    count(distinct service_code) as services,
    count(distinct resource_id) as resources
from cost
