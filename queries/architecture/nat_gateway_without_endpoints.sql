-- Which NAT gateways process traffic in an account and region that also uses S3 or DynamoDB?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

gateways as (
    select
        account_id,
        region,
        resource_id,
        sum(case when usage_type like '%NatGateway-Bytes' then usage_amount else 0 end) as processed_gb,
        sum(case when usage_type like '%NatGateway-Bytes' then unblended_cost else 0 end) as processing_cost,
        sum(case when usage_type like '%NatGateway-Hours' then unblended_cost else 0 end) as hourly_cost
    from cost
    where provider = 'AWS'
        and usage_type like '%NatGateway-%'
        and charge_type = 'Usage'
    group by account_id, region, resource_id
),

endpoint_services as (
    -- S3 and DynamoDB spend in the same account AND region: gateway endpoints are regional
    select
        account_id,
        region,
        sum(case when service_code = 'AmazonS3' then unblended_cost else 0 end) as s3_cost,
        sum(case when service_code = 'AmazonDynamoDB' then unblended_cost else 0 end) as dynamodb_cost
    from cost
    where provider = 'AWS'
        and service_code in ('AmazonS3', 'AmazonDynamoDB')
        and charge_type = 'Usage'
    group by account_id, region
)

select
    gateways.account_id,
    gateways.region,
    gateways.resource_id,
    gateways.processed_gb,
    gateways.processing_cost,
    gateways.hourly_cost,
    endpoint_services.s3_cost,
    endpoint_services.dynamodb_cost,
    gateways.processing_cost * 30.4375 / window_days.days as monthly_processing_cost,
    -- the processing charge on the share of bytes bound for S3/DynamoDB disappears behind an endpoint
    gateways.processing_cost * 30.4375 / window_days.days * :endpoint_share as monthly_savings
from gateways
inner join endpoint_services
    on gateways.account_id = endpoint_services.account_id
    and gateways.region = endpoint_services.region
cross join window_days
where endpoint_services.s3_cost + endpoint_services.dynamodb_cost > 0
order by monthly_savings desc
