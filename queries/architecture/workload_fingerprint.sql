-- What kind of workload runs in each account, judged by where its money goes?
with classified as (
    select
        account_id,
        account_name,
        amortized_cost,
        -- one bucket per line item, by service and usage type
        case
            when usage_type like '%DataTransfer%' or usage_type like '%NatGateway%' then 'data_transfer'
            when service_code in ('AmazonECS', 'AmazonEKS') or usage_type like '%Fargate%' then 'containers'
            when service_code in ('AWSLambda', 'AmazonApiGateway', 'AWSStepFunctions') then 'serverless'
            when service_code = 'AmazonEC2' and (usage_type like '%BoxUsage%' or usage_type like '%SpotUsage%') then 'vms'
            when service_code in ('AmazonRDS', 'AmazonDynamoDB', 'AmazonElastiCache', 'AmazonRedshift', 'AmazonDocDB')
                then 'managed_db'
            when service_code = 'AmazonS3' or usage_type like '%EBS:%' then 'storage'
            when service_code in ('AmazonAthena', 'AWSGlue', 'ElasticMapReduce', 'AmazonKinesis') then 'analytics'
            else 'other'
        end as bucket
    from cost
    -- the buckets are AWS service codes: another provider's account would read as all 'other'
    where provider = 'AWS'
        and charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
),

shares as (
    select
        account_id,
        account_name,
        sum(amortized_cost) as total_cost,
        -- share of the account's usage spend in each bucket
        sum(case when bucket = 'vms' then amortized_cost else 0 end) / sum(amortized_cost) * 100 as pct_vms,
        sum(case when bucket = 'containers' then amortized_cost else 0 end) / sum(amortized_cost) * 100 as pct_containers,
        sum(case when bucket = 'serverless' then amortized_cost else 0 end) / sum(amortized_cost) * 100 as pct_serverless,
        sum(case when bucket = 'managed_db' then amortized_cost else 0 end) / sum(amortized_cost) * 100 as pct_managed_db,
        sum(case when bucket = 'storage' then amortized_cost else 0 end) / sum(amortized_cost) * 100 as pct_storage,
        sum(case when bucket = 'data_transfer' then amortized_cost else 0 end) / sum(amortized_cost) * 100
            as pct_data_transfer,
        sum(case when bucket = 'analytics' then amortized_cost else 0 end) / sum(amortized_cost) * 100 as pct_analytics
    from classified
    group by account_id, account_name
    having sum(amortized_cost) > 0
)

select
    account_id,
    account_name,
    total_cost,
    pct_vms,
    pct_containers,
    pct_serverless,
    pct_managed_db,
    pct_storage,
    pct_data_transfer,
    pct_analytics,
    -- the label a FinOps reviewer would write after a glance at the mix
    case
        when pct_containers >= 30 then 'container platform'
        when pct_serverless >= 30 then 'serverless application'
        when pct_managed_db >= 35 then 'database-centred workload'
        when pct_vms >= 40 then 'VM-based workload'
        when pct_storage >= 40 then 'storage-heavy workload'
        when pct_analytics >= 30 then 'analytics platform'
        else 'mixed workload'
    end
    || case when pct_data_transfer >= 15 then ' with heavy data transfer' else '' end as architecture
from shares
order by total_cost desc, account_id
