-- CUR 2.0 (Data Exports) as the canonical cost columns.
select
    -- when
    cast(src.bill_billing_period_start_date as date) as billing_period,
    cast(src.line_item_usage_start_date as timestamp) as usage_start,
    cast(src.line_item_usage_start_date as date) as usage_date,
    -- who
    src.bill_payer_account_id as payer_account_id,
    src.line_item_usage_account_id as account_id,
    coalesce(nullif(src.line_item_usage_account_name, ''), src.line_item_usage_account_id) as account_name,
    -- what
    src.line_item_line_item_type as charge_type,
    src.line_item_product_code as service_code,
    coalesce(nullif(element_at(src.product, 'product_name'), ''), src.line_item_product_code) as service_name,
    nullif(src.product_product_family, '') as service_category,
    src.line_item_usage_type as usage_type,
    src.line_item_operation as operation,
    nullif(src.line_item_resource_id, '') as resource_id,
    -- where
    -- data-transfer lines leave product_region_code empty: the product map's region, else the
    -- region the traffic leaves from, else the one it goes to
    coalesce(
        nullif(src.product_region_code, ''),
        nullif(element_at(src.product, 'region'), ''),
        nullif(src.product_from_region_code, ''),
        nullif(src.product_to_region_code, '')
    ) as region,
    nullif(src.line_item_availability_zone, '') as availability_zone,
    nullif(src.product_instance_type, '') as instance_type,
    -- how much
    src.line_item_usage_amount as usage_amount,
    src.pricing_unit as pricing_unit,
    src.line_item_unblended_cost as unblended_cost,
    case
        when src.line_item_line_item_type = 'SavingsPlanCoveredUsage'
            then coalesce(src.savings_plan_savings_plan_effective_cost, 0)
        when src.line_item_line_item_type = 'SavingsPlanRecurringFee'
            then coalesce(src.savings_plan_total_commitment_to_date, 0) - coalesce(src.savings_plan_used_commitment, 0)
        when src.line_item_line_item_type in ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') then 0
        when src.line_item_line_item_type = 'DiscountedUsage' then coalesce(src.reservation_effective_cost, 0)
        when src.line_item_line_item_type = 'RIFee'
            then coalesce(src.reservation_unused_amortized_upfront_fee_for_billing_period, 0)
                + coalesce(src.reservation_unused_recurring_fee, 0)
        when src.line_item_line_item_type = 'Fee' and coalesce(src.reservation_reservation_a_r_n, '') <> '' then 0
        else src.line_item_unblended_cost
    end as amortized_cost,
    coalesce(src.pricing_public_on_demand_cost, src.line_item_unblended_cost) as public_cost,
    case
        when src.line_item_line_item_type like 'SavingsPlan%' then 'SavingsPlan'
        when src.line_item_line_item_type in ('DiscountedUsage', 'RIFee') then 'Reserved'
        when src.line_item_line_item_type = 'Fee' and coalesce(src.reservation_reservation_a_r_n, '') <> '' then 'Reserved'
        when src.line_item_usage_type like '%SpotUsage%' then 'Spot'
        when src.line_item_line_item_type in ('Tax', 'Credit', 'Refund', 'Fee', 'Discount', 'BundledDiscount') then 'Other'
        else 'OnDemand'
    end as purchase_option,
    -- logical tag keys resolved through their configured aliases
    {{ tags }} as tags,
    src.line_item_currency_code as currency,
    'AWS' as provider
from {{ relation }} as src
where {{ partitions }}
    and src.line_item_usage_start_date >= :start_date
    and src.line_item_usage_start_date < :end_date
