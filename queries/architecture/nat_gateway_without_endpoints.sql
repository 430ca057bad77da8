-- Which NAT gateways process traffic in an account and region that also uses S3 or DynamoDB?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

lines as (
    -- gateways and the S3/DynamoDB spend beside them from one scan: per resource, then the
    -- account and region's S3/DynamoDB spend as a window sum (gateway endpoints are regional)
    select
        account_id,
        region,
        resource_id,
        count(case when usage_type like '%NatGateway-%' then 1 end) as gateway_lines,
        sum(case when usage_type like '%NatGateway-Bytes' then usage_amount else 0 end) as processed_gb,
        sum(case when usage_type like '%NatGateway-Bytes' then unblended_cost else 0 end) as processing_cost,
        sum(case when usage_type like '%NatGateway-Hours' then unblended_cost else 0 end) as hourly_cost,
        sum(sum(case when service_code = 'AmazonS3' then unblended_cost else 0 end))
            over (partition by account_id, region) as s3_cost,
        sum(sum(case when service_code = 'AmazonDynamoDB' then unblended_cost else 0 end))
            over (partition by account_id, region) as dynamodb_cost
    from cost
    where provider = 'AWS'
        and charge_type = 'Usage'
        and (usage_type like '%NatGateway-%' or service_code in ('AmazonS3', 'AmazonDynamoDB'))
    group by account_id, region, resource_id
)

select
    lines.account_id,
    lines.region,
    lines.resource_id,
    lines.processed_gb,
    lines.processing_cost,
    lines.hourly_cost,
    lines.s3_cost,
    lines.dynamodb_cost,
    lines.processing_cost * 30.4375 / window_days.days as monthly_processing_cost,
    -- the processing charge on the share of bytes bound for S3/DynamoDB disappears behind an endpoint
    lines.processing_cost * 30.4375 / window_days.days * :endpoint_share as monthly_savings
from lines
cross join window_days
where lines.gateway_lines > 0
    and lines.account_id is not null
    and lines.region is not null
    and lines.s3_cost + lines.dynamodb_cost > 0
order by monthly_savings desc, account_id, region, resource_id
