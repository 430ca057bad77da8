-- FOCUS 1.x (AWS export with x_ columns) as the canonical cost columns.
select
    -- when
    cast(src.BillingPeriodStart as date) as billing_period,
    cast(src.ChargePeriodStart as timestamp) as usage_start,
    cast(src.ChargePeriodStart as date) as usage_date,
    -- who
    src.BillingAccountId as payer_account_id,
    src.SubAccountId as account_id,
    coalesce(nullif(src.SubAccountName, ''), src.SubAccountId) as account_name,
    -- what: FOCUS charge category and commitment status mapped to CUR line item types;
    -- exports spell the commitment type 'Savings Plan', 'SavingsPlan', 'Reserved Instance',
    -- 'Reservation', 'Reserved Instances (RI)'…: matched case- and space-insensitively
    case
        when lower(src.CommitmentDiscountStatus) = 'used'
            and lower(replace(src.CommitmentDiscountType, ' ', '')) like '%savingsplan%'
            then 'SavingsPlanCoveredUsage'
        when lower(src.CommitmentDiscountStatus) = 'used' then 'DiscountedUsage'
        when lower(src.CommitmentDiscountStatus) = 'unused'
            and lower(replace(src.CommitmentDiscountType, ' ', '')) like '%savingsplan%'
            then 'SavingsPlanRecurringFee'
        when lower(src.CommitmentDiscountStatus) = 'unused' then 'RIFee'
        when src.ChargeCategory = 'Purchase' and src.ChargeFrequency = 'One-Time'
            and lower(replace(src.CommitmentDiscountType, ' ', '')) like '%savingsplan%'
            then 'SavingsPlanUpfrontFee'
        when src.ChargeCategory = 'Purchase' and src.ChargeFrequency = 'One-Time' then 'Fee'
        when src.ChargeCategory = 'Purchase'
            and lower(replace(src.CommitmentDiscountType, ' ', '')) like '%savingsplan%'
            then 'SavingsPlanRecurringFee'
        when src.ChargeCategory = 'Purchase' and lower(src.CommitmentDiscountType) like '%reserv%'
            then 'RIFee'
        when src.ChargeCategory = 'Purchase' then 'Fee'
        -- FOCUS has no refund category: a refund is a credit correcting an earlier invoice
        when src.ChargeCategory = 'Credit' and src.ChargeClass = 'Correction' then 'Refund'
        when src.ChargeCategory in ('Tax', 'Credit') then src.ChargeCategory
        when src.ChargeCategory = 'Adjustment' then 'Refund'
        else 'Usage'
    end as charge_type,
    -- a FOCUS export without AWS's x_ServiceCode (FOCUS 1.1, or another tool's) names the
    -- service only: AWS's product names map to the product codes the stored queries match
    coalesce(
        nullif(src.x_ServiceCode, ''),
        case src.ServiceName
            when 'Amazon Elastic Compute Cloud' then 'AmazonEC2'
            when 'Amazon Simple Storage Service' then 'AmazonS3'
            when 'Amazon Virtual Private Cloud' then 'AmazonVPC'
            when 'Amazon Relational Database Service' then 'AmazonRDS'
            when 'Amazon DynamoDB' then 'AmazonDynamoDB'
            when 'Amazon ElastiCache' then 'AmazonElastiCache'
            when 'Amazon Redshift' then 'AmazonRedshift'
            when 'Amazon DocumentDB (with MongoDB compatibility)' then 'AmazonDocDB'
            when 'AWS Lambda' then 'AWSLambda'
            when 'Amazon API Gateway' then 'AmazonApiGateway'
            when 'AWS Step Functions' then 'AWSStepFunctions'
            when 'Amazon Elastic Container Service' then 'AmazonECS'
            when 'Amazon Elastic Kubernetes Service' then 'AmazonEKS'
            when 'AmazonCloudWatch' then 'AmazonCloudWatch'
            when 'Amazon CloudWatch' then 'AmazonCloudWatch'
            when 'AWS Key Management Service' then 'awskms'
            when 'Savings Plans for AWS Compute usage' then 'ComputeSavingsPlans'
            when 'Elastic Load Balancing' then 'AWSELB'
            when 'Amazon Athena' then 'AmazonAthena'
            when 'AWS Glue' then 'AWSGlue'
            when 'Amazon Elastic MapReduce' then 'ElasticMapReduce'
            when 'Amazon Kinesis' then 'AmazonKinesis'
            when 'Amazon SageMaker' then 'AmazonSageMaker'
            when 'Amazon CloudFront' then 'AmazonCloudFront'
            when 'AWS Data Transfer' then 'AWSDataTransfer'
            when 'Amazon Elastic File System' then 'AmazonEFS'
        end,
        src.ServiceName
    ) as service_code,
    src.ServiceName as service_name,
    nullif(src.ServiceCategory, '') as service_category,
    -- FOCUS 1.2 exports from AWS carry the usage type in SkuMeter (x_UsageType is gone)
    coalesce(nullif(src.x_UsageType, ''), nullif(src.SkuMeter, ''), '') as usage_type,
    coalesce(src.x_Operation, '') as operation,
    nullif(src.ResourceId, '') as resource_id,
    -- where
    nullif(src.RegionId, '') as region,
    nullif(src.AvailabilityZone, '') as availability_zone,
    -- SkuPriceDetails (a map or JSON text), else the usage type (BoxUsage:m5.large), else the
    -- charge description ('… per On Demand Linux m5.large Instance Hour')
    coalesce(
        nullif({{ sku_instance_type }}, ''),
        nullif(
            regexp_extract(
                coalesce(src.x_UsageType, src.SkuMeter),
                '(?:Box|Spot|Dedicated|Host|Instance|Node|Multi-AZ)Usage:([a-z0-9][a-z0-9.-]*)',
                1
            ),
            ''
        ),
        nullif(
            regexp_extract(src.ChargeDescription, '([a-z][a-z0-9-]*(?:[.][a-z0-9]+)+) [Ii]nstance', 1),
            ''
        )
    ) as instance_type,
    -- how much
    src.ConsumedQuantity as usage_amount,
    src.ConsumedUnit as pricing_unit,
    src.BilledCost as unblended_cost,
    src.EffectiveCost as amortized_cost,
    coalesce(src.ListCost, src.BilledCost) as public_cost,
    case
        when lower(replace(src.CommitmentDiscountType, ' ', '')) like '%savingsplan%' then 'SavingsPlan'
        when lower(src.CommitmentDiscountType) like '%reserv%' then 'Reserved'
        when src.PricingCategory = 'Dynamic' then 'Spot'
        when src.ChargeCategory in ('Tax', 'Credit', 'Adjustment', 'Purchase') then 'Other'
        else 'OnDemand'
    end as purchase_option,
    -- logical tag keys resolved through their configured aliases
    {{ tags }} as tags,
    src.BillingCurrency as currency,
    -- ServiceProviderName replaces ProviderName from FOCUS 1.3 on; a row carrying AWS's own
    -- x_ServiceCode column came from AWS even where an export leaves both empty
    coalesce(
        nullif(src.ServiceProviderName, ''),
        nullif(src.ProviderName, ''),
        case when src.x_ServiceCode is not null then 'AWS' end
    ) as provider
from {{ relation }} as src
where {{ partitions }}
    and src.ChargePeriodStart >= :start_date
    and src.ChargePeriodStart < :end_date
