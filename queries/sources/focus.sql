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
    -- what: FOCUS charge category and commitment status mapped to CUR line item types
    case
        when src.CommitmentDiscountStatus = 'Used' and src.CommitmentDiscountType = 'Savings Plan'
            then 'SavingsPlanCoveredUsage'
        when src.CommitmentDiscountStatus = 'Used' then 'DiscountedUsage'
        when src.CommitmentDiscountStatus = 'Unused' and src.CommitmentDiscountType = 'Savings Plan'
            then 'SavingsPlanRecurringFee'
        when src.CommitmentDiscountStatus = 'Unused' then 'RIFee'
        when src.ChargeCategory = 'Purchase' and src.ChargeFrequency = 'One-Time'
            and src.CommitmentDiscountType = 'Savings Plan' then 'SavingsPlanUpfrontFee'
        when src.ChargeCategory = 'Purchase' and src.ChargeFrequency = 'One-Time' then 'Fee'
        when src.ChargeCategory = 'Purchase' and src.CommitmentDiscountType = 'Savings Plan'
            then 'SavingsPlanRecurringFee'
        when src.ChargeCategory = 'Purchase' and src.CommitmentDiscountType = 'Reservation' then 'RIFee'
        when src.ChargeCategory = 'Purchase' then 'Fee'
        -- FOCUS has no refund category: a refund is a credit correcting an earlier invoice
        when src.ChargeCategory = 'Credit' and src.ChargeClass = 'Correction' then 'Refund'
        when src.ChargeCategory in ('Tax', 'Credit') then src.ChargeCategory
        when src.ChargeCategory = 'Adjustment' then 'Refund'
        else 'Usage'
    end as charge_type,
    coalesce(nullif(src.x_ServiceCode, ''), src.ServiceName) as service_code,
    src.ServiceName as service_name,
    nullif(src.ServiceCategory, '') as service_category,
    coalesce(src.x_UsageType, '') as usage_type,
    coalesce(src.x_Operation, '') as operation,
    nullif(src.ResourceId, '') as resource_id,
    -- where
    nullif(src.RegionId, '') as region,
    nullif(src.AvailabilityZone, '') as availability_zone,
    nullif(json_extract_scalar(src.SkuPriceDetails, '$.InstanceType'), '') as instance_type,
    -- how much
    src.ConsumedQuantity as usage_amount,
    src.ConsumedUnit as pricing_unit,
    src.BilledCost as unblended_cost,
    src.EffectiveCost as amortized_cost,
    coalesce(src.ListCost, src.BilledCost) as public_cost,
    case
        when src.CommitmentDiscountType = 'Savings Plan' then 'SavingsPlan'
        when src.CommitmentDiscountType = 'Reservation' then 'Reserved'
        when src.PricingCategory = 'Dynamic' then 'Spot'
        when src.ChargeCategory in ('Tax', 'Credit', 'Adjustment', 'Purchase') then 'Other'
        else 'OnDemand'
    end as purchase_option,
    -- logical tag keys resolved through their configured aliases
    {{ tags }} as tags,
    src.BillingCurrency as currency
from {{ relation }} as src
where {{ partitions }}
    and src.ChargePeriodStart >= :start_date
    and src.ChargePeriodStart < :end_date
