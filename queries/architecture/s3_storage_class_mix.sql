-- How is each bucket's storage spread over classes, and which large buckets sit almost all in Standard?
with window_days as (
    select count(distinct usage_date) as days
    from cost
),

storage as (
    select
        account_id,
        region,
        resource_id as bucket,
        -- storage class from the usage type suffix
        case
            when usage_type like '%TimedStorage-INT%' then 'INTELLIGENT_TIERING'
            when usage_type like '%TimedStorage-SIA%' then 'STANDARD_IA'
            when usage_type like '%TimedStorage-ZIA%' then 'ONEZONE_IA'
            when usage_type like '%TimedStorage-GDA%' then 'DEEP_ARCHIVE'
            when usage_type like '%TimedStorage-Glacier%' or usage_type like '%TimedStorage-GIR%' then 'GLACIER'
            when usage_type like '%TimedStorage-ByteHrs' then 'STANDARD'
            else 'OTHER'
        end as storage_class,
        usage_amount,
        unblended_cost
    from cost
    where provider = 'AWS'
        and service_code = 'AmazonS3'
        and usage_type like '%TimedStorage%'
        and charge_type = 'Usage'
),

by_bucket as (
    select
        account_id,
        region,
        bucket,
        sum(usage_amount) as gb_months,
        sum(unblended_cost) as storage_cost,
        sum(case when storage_class = 'STANDARD' then usage_amount else 0 end) as standard_gb_months,
        sum(case when storage_class = 'STANDARD' then unblended_cost else 0 end) as standard_cost,
        count(distinct storage_class) as classes
    from storage
    group by account_id, region, bucket
)

select
    by_bucket.account_id,
    by_bucket.region,
    by_bucket.bucket as resource_id,
    by_bucket.gb_months,
    by_bucket.storage_cost,
    by_bucket.standard_cost,
    by_bucket.standard_gb_months / by_bucket.gb_months * 100 as standard_pct,
    by_bucket.classes,
    -- average GB stored over the window, so the size floor does not depend on its length
    by_bucket.gb_months * 30.4375 / window_days.days as avg_gb,
    by_bucket.standard_cost * 30.4375 / window_days.days * :tiering_saving_share as monthly_savings
from by_bucket
cross join window_days
where by_bucket.gb_months > 0
    and by_bucket.standard_gb_months / by_bucket.gb_months * 100 >= :standard_pct_floor
    and by_bucket.gb_months * 30.4375 / window_days.days >= :min_avg_gb
order by monthly_savings desc, account_id, region, resource_id
