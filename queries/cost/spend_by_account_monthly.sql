-- How much did each account cost in each billing month?
with monthly as (
    select
        billing_period,
        account_id,
        account_name,
        sum(unblended_cost) as unblended_cost,
        sum(amortized_cost) as amortized_cost
    from cost
    group by billing_period, account_id, account_name
)

select
    billing_period,
    account_id,
    account_name,
    unblended_cost,
    amortized_cost
from monthly
order by billing_period, unblended_cost desc, account_id
