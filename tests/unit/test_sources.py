"""Schema detection, header normalisation and the canonical adapters on one tiny dataset per schema."""

from __future__ import annotations

import datetime as dt

import pytest

from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.identifiers import UnsafeIdentifierError
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import SourceError, athena_name, cost_sql, detect_schema, tags_expression
from finops_agent.window import Window
from tests import tiny

OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))


@pytest.mark.parametrize(
    ("raw", "athena"),
    [
        ("lineItem/UnblendedCost", "line_item_unblended_cost"),
        ("bill/BillingPeriodStartDate", "bill_billing_period_start_date"),
        # Athena turns every capital into a word: ARN -> a_r_n
        ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
        ("product/productFamily", "product_product_family"),
        ("resourceTags/user:team", "resource_tags_user_team"),
        ("resourceTags/user:CostCenter", "resource_tags_user_cost_center"),
    ],
)
def test_raw_cur_headers_map_to_athena_names(raw: str, athena: str) -> None:
    assert athena_name(raw) == athena


@pytest.mark.hostile
def test_a_file_matching_no_schema_names_the_closest_and_what_it_lacks() -> None:
    columns = ["line_item_unblended_cost", "line_item_usage_start_date", "product_product_name"]
    with pytest.raises(SourceError, match=r"bills\.csv") as info:
        detect_schema(columns, source="bills.csv")
    message = str(info.value)
    assert "bills.csv" in message and "closest is cur" in message
    assert "line_item_line_item_type" in message


def test_each_schema_is_detected_from_its_columns(tiny_source: tuple[str, object]) -> None:
    schema, folder = tiny_source
    engine = DuckDBEngine(str(folder))
    assert detect_schema(list(engine.source_columns())) == schema


def _canonical(schema: str, folder: object) -> list[tuple[object, ...]]:
    engine = DuckDBEngine(str(folder))
    cost = cost_sql(
        schema, engine.source_relation(), engine.source_columns(), OCTOBER, DEFAULT_TAG_ALIASES
    )  # type: ignore[arg-type]
    engine.bind_cost(cost.sql, cost.params)
    return engine.raw_sql(
        "select round(sum(unblended_cost), 6), round(sum(amortized_cost), 6), "
        "round(sum(case when charge_type = 'SavingsPlanCoveredUsage' then amortized_cost else 0 end), 6), "
        "round(sum(case when purchase_option = 'SavingsPlan' then amortized_cost else 0 end), 6), "
        "max(case when resource_id = 'i-0000000000000001' then tags['owner'] end), "
        "max(case when resource_id = 'i-0000000000000002' then tags['owner'] end), "
        "max(case when resource_id = 'vol-0000000000000001' then tags['cost_center'] end), "
        "max(case when resource_id = 'vol-0000000000000001' then tags['environment'] end), "
        "max(case when resource_id = 'i-0000000000000001' then instance_type end), "
        "count(distinct account_id), max(region) from cost"
    )


def test_all_three_adapters_agree_on_money_tags_and_types(tiny_source: tuple[str, object]) -> None:
    schema, folder = tiny_source
    (row,) = _canonical(schema, folder)
    (
        unblended,
        amortized,
        sp_covered,
        sp_total,
        owner1,
        owner2,
        cost_center,
        env,
        itype,
        accounts,
        region,
    ) = row
    assert unblended == pytest.approx(tiny.UNBLENDED_TOTAL)
    assert amortized == pytest.approx(tiny.AMORTIZED_TOTAL)
    # covered usage is amortised at the SP effective rate; the fee carries only the unused $2
    assert sp_covered == pytest.approx(14.0)
    assert sp_total == pytest.approx(16.0)
    # aliases: Owner and team both mean owner; CostCenter means cost_center; env '' stays ''
    assert (owner1, owner2, cost_center, env) == ("alice", "data", "cc-1", "")
    assert itype == "m5.large"
    assert (accounts, region) == (1, "us-east-1")


def test_window_outside_the_data_yields_no_rows(tiny_source: tuple[str, object]) -> None:
    schema, folder = tiny_source
    engine = DuckDBEngine(str(folder))
    november = Window(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    cost = cost_sql(
        schema, engine.source_relation(), engine.source_columns(), november, DEFAULT_TAG_ALIASES
    )  # type: ignore[arg-type]
    engine.bind_cost(cost.sql, cost.params)
    assert engine.raw_sql("select count(*) from cost") == [(0,)]


def test_partition_predicate_is_bound_not_pasted() -> None:
    columns = {"billing_period": "VARCHAR", **dict.fromkeys(["bill_payer_account_id"], "VARCHAR")}
    from finops_agent.sources import partition_filter

    predicate, params = partition_filter(
        columns, Window(dt.date(2026, 9, 15), dt.date(2026, 11, 2))
    )
    assert "2026" not in predicate
    assert params == {
        "partition_period_0": "2026-09",
        "partition_period_1": "2026-10",
        "partition_period_2": "2026-11",
    }


@pytest.mark.parametrize("bad", ["owner'; drop table cost --", 'x"y', "a;b", "key/*c*/"])
@pytest.mark.hostile
def test_tag_keys_with_sql_in_them_are_rejected(bad: str) -> None:
    with pytest.raises(UnsafeIdentifierError, match="has characters outside AWS tag keys"):
        tags_expression("cur2", {"resource_tags": "MAP(VARCHAR, VARCHAR)"}, {"owner": [bad]})


def test_with_cost_puts_the_adapter_first_and_keeps_the_query_ctes() -> None:
    from finops_agent.engines.sql import to_duckdb, with_cost

    merged = with_cost(
        "select 1 as x", "with doubled as (select x * 2 as y from cost) select y from doubled"
    )
    assert merged.lower().index("cost as") < merged.lower().index("doubled as")
    plain = with_cost("select 1 as x", "select x from cost")
    import duckdb

    assert duckdb.sql(to_duckdb(merged)[0]).fetchall() == [(2,)]
    assert duckdb.sql(to_duckdb(plain)[0]).fetchall() == [(1,)]
