-- How much does each account pay for public IPv4 addresses, in use and idle?
select
    account_id,
    account_name,
    region,
    sum(case when usage_type like '%InUseAddress%' then unblended_cost else 0 end) as in_use_cost,
    sum(case when usage_type like '%IdleAddress%' then unblended_cost else 0 end) as idle_cost,
    count(distinct resource_id) as addresses,
    sum(unblended_cost) as unblended_cost
from cost
where provider = 'AWS'
    and (usage_type like '%PublicIPv4%' or usage_type like '%ElasticIP%')
    and charge_type = 'Usage'
group by account_id, account_name, region
order by unblended_cost desc, account_id, region
