"""The extract mode's UNLOAD: the columns it keeps come from the stored SQL, its text is exact,
and it passes the conformance harness for every Glue flavour."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from finops_agent.catalog import load_catalog
from finops_agent.engines.athena_extract import (
    adapter_columns,
    extract_location,
    needed_columns,
    unload_statement,
)
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import COST_COLUMNS, cost_sql, detect_schema
from finops_agent.window import Window
from tests.support.conformance import DATABASE, FLAVOURS, check_statement, glue_table

OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
CANONICAL = ["usage_date", "account_id", "resource_id", "unblended_cost", "tags"]
LOCATION = "s3://finops-results/athena/finops-extract/run-1/"
# Athena's documented form: UNLOAD (SELECT ...) TO 's3://...' WITH (property = 'value', ...)
UNLOAD_FORM = re.compile(
    r"^UNLOAD \((SELECT .*)\) TO '(s3://[^']+/)' "
    r"WITH \(format = 'PARQUET', compression = 'SNAPPY'\)$",
    re.DOTALL,
)


@pytest.mark.parametrize(
    ("queries", "expected"),
    [
        # a plain read of two columns
        (
            ["select account_id, sum(unblended_cost) as c from cost group by 1"],
            ["account_id", "unblended_cost"],
        ),
        # columns read through a CTE over cost, and a filter column never selected
        (
            [
                "with d as (select usage_date as day, unblended_cost from cost where resource_id is not null)"
                " select day, sum(unblended_cost) from d group by day"
            ],
            ["usage_date", "resource_id", "unblended_cost"],
        ),
        # `select *` from cost needs every canonical column
        (["select * from cost"], CANONICAL),
        # a CTE's own column named like a canonical one is not read from cost
        (["with x as (select 1 as tags) select tags from x", "select count(*) as n from cost"], []),
        # element_at on the map reads tags; two statements add up
        (
            ["select element_at(tags, 'owner') as o from cost", "select account_id from cost"],
            ["account_id", "tags"],
        ),
    ],
)
def test_needed_columns_are_the_ones_the_statements_read_from_cost(
    queries: list[str], expected: list[str]
) -> None:
    assert needed_columns(queries, CANONICAL) == expected


def test_a_column_the_adapter_lacks_is_named() -> None:
    with pytest.raises(ValueError, match=r"reads column\(s\) \['owner'\] that the adapter"):
        needed_columns(["select owner from cost"], CANONICAL)


def test_unload_of_a_small_adapter_is_exact() -> None:
    adapter = (
        "select src.a as account_id, src.c as unblended_cost, src.r as resource_id "
        "from t as src where src.d >= :start_date and src.d < :end_date"
    )
    statement = unload_statement(
        adapter,
        {"start_date": dt.date(2026, 10, 1), "end_date": dt.date(2026, 11, 1)},
        ["select account_id, sum(unblended_cost) as c from cost group by 1"],
        LOCATION,
    )
    assert statement.sql == (
        "UNLOAD (SELECT src.a AS account_id, src.c AS unblended_cost FROM t AS src "
        "WHERE src.d >= ? AND src.d < ?) "
        "TO 's3://finops-results/athena/finops-extract/run-1/' "
        "WITH (format = 'PARQUET', compression = 'SNAPPY')"
    )
    assert statement.params == ["DATE '2026-10-01'", "DATE '2026-11-01'"]
    assert statement.columns == ("account_id", "unblended_cost")


def test_extract_location_is_the_runs_folder_under_the_results_location() -> None:
    assert extract_location("s3://finops-results/athena", "run-1") == LOCATION
    assert extract_location("s3://finops-results/athena/", "run-1") == LOCATION


@pytest.mark.parametrize(
    ("results", "run_id", "message"),
    [
        ("s3://bucket/it's/", "run-1", r"results location \"s3://bucket/it's/\""),
        ("/local/folder", "run-1", r"results location '/local/folder'"),
        ("s3://bucket/x", "../up", r"extract run id '../up' must be"),
    ],
)
def test_extract_location_refuses_what_cannot_be_quoted_safely(
    results: str, run_id: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        extract_location(results, run_id)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_chats_unload_of_every_canonical_column_conforms_to_athena(flavour: str) -> None:
    table = glue_table(flavour)
    types = table.types()
    adapter = cost_sql(
        detect_schema(list(types)),
        f'"{DATABASE}"."{table.table}"',
        types,
        OCTOBER,
        DEFAULT_TAG_ALIASES,
    )
    statement = unload_statement(adapter.sql, adapter.params, ["select * from cost"], LOCATION)
    assert list(statement.columns) == [name for name, _, _ in COST_COLUMNS]
    assert check_statement(statement.select, statement.params, table) == []


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_full_report_unload_conforms_to_athena(flavour: str) -> None:
    table = glue_table(flavour)
    types = table.types()
    adapter = cost_sql(
        detect_schema(list(types)),
        f'"{DATABASE}"."{table.table}"',
        types,
        OCTOBER,
        DEFAULT_TAG_ALIASES,
    )
    specs = load_catalog().queries.values()
    statement = unload_statement(adapter.sql, adapter.params, [s.sql for s in specs], LOCATION)
    form = UNLOAD_FORM.match(statement.sql)
    assert form is not None, statement.sql[:200]
    assert form.group(1) == statement.select
    assert form.group(2) == LOCATION
    assert check_statement(statement.select, statement.params, table) == []
    # columns no stored query reads stay in Athena
    assert set(adapter_columns(adapter.sql)) - set(statement.columns) == {
        "payer_account_id",
        "operation",
        "pricing_unit",
        "service_category",
    }
