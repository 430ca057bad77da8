"""Every stored query x every Glue flavour, as the Athena engine would send it, passes Trino's
grammar, Trino's types, the `?` rules and partition pruning (see tests/support/conformance.py).

The Glue fixtures under tests/data/glue are transcribed from AWS's public table definitions
(legacy CUR via the Athena integration, CUR 2.0, FOCUS 1.0 and 1.2 with AWS columns) and from
the FOCUS 1.1 specification (a table a user defines: AWS exports no 1.1, JSON-text maps); the
harness never renders SQL itself: it takes `AthenaEngine.prepare`'s text and parameters.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import boto3
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.engines.athena import AthenaEngine
from finops_agent.execution import bound_params
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import cost_sql, detect_schema
from finops_agent.window import Window
from tests.support.conformance import DATABASE, FLAVOURS, GlueTable, check_statement, glue_table

OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
RUN_PARAMS: dict[str, object] = {"start_date": OCTOBER.start, "end_date": OCTOBER.end}
QUERIES = sorted(load_catalog().queries)
EXPECTED_SCHEMA = {
    "cur": "cur",
    "cur2": "cur2",
    "focus_1_0": "focus",
    "focus_1_1": "focus",
    "focus_1_2": "focus",
}


def _engine(table: GlueTable, columns: dict[str, str] | None = None) -> AthenaEngine:
    """An Athena engine (never started: no AWS call) with the adapter bound for `table`."""
    # a session with made-up keys: building clients makes no request, and no query is sent
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    engine = AthenaEngine(DATABASE, table.table, session=session)
    types = columns if columns is not None else table.types()
    cost = cost_sql(
        detect_schema(list(types)), engine.source_relation(), types, OCTOBER, DEFAULT_TAG_ALIASES
    )
    engine.bind_cost(cost.sql, cost.params)
    return engine


@cache
def _bound_engine(flavour: str) -> AthenaEngine:
    return _engine(glue_table(flavour))


def _sent(engine: AthenaEngine, query: str) -> tuple[str, list[str]]:
    """What `execute` would send for a stored query, with the parameters `run_query` passes."""
    spec = load_catalog().queries[query]
    return engine.prepare(spec.name, spec.sql, {**RUN_PARAMS, **bound_params(spec, RUN_PARAMS)})


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_each_glue_flavour_is_detected_as_its_schema(flavour: str) -> None:
    assert detect_schema(list(glue_table(flavour).types())) == EXPECTED_SCHEMA[flavour]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_stored_query_conforms_to_athena(flavour: str, query: str) -> None:
    text, values = _sent(_bound_engine(flavour), query)
    assert check_statement(text, values, glue_table(flavour)) == []


def test_the_harness_sees_a_map_passed_to_json_extract_scalar() -> None:
    """The adapter told SkuPriceDetails is text (the old behaviour) sends json_extract_scalar a map."""
    table = glue_table("focus_1_2")
    lied = {**table.types(), "skupricedetails": "string"}
    text, values = _sent(_engine(table, lied), "previous_generation_instances")
    assert "JSON_EXTRACT_SCALAR(src.SkuPriceDetails" in text
    problems = check_statement(text, values, table)
    assert any(
        p.startswith("json_extract_scalar takes varchar or json, got MAP(VARCHAR, VARCHAR)")
        for p in problems
    ), problems


def test_the_harness_sees_a_placeholder_outside_a_where_clause() -> None:
    table = glue_table("cur2")
    text = (
        'select ?, sum(src.line_item_unblended_cost) from "cur"."cur2_table" as src '
        "where src.billing_period = ? group by 1"
    )
    problems = check_statement(text, ["'x'", "'2026-10'"], table)
    assert any(p.startswith("a `?` sits in a select, not a WHERE clause") for p in problems)


def test_the_harness_counts_placeholders_against_parameters() -> None:
    table = glue_table("cur2")
    text = 'select 1 from "cur"."cur2_table" as src where src.billing_period = ?'
    problems = check_statement(text, [], table)
    assert "1 `?` in the text but 0 execution parameters" in problems
    assert "Trino's grammar finds 1 parameters, 0 are sent" in problems


def test_the_harness_sees_a_missing_partition_predicate() -> None:
    table = glue_table("cur")
    text = (
        'select sum(src.line_item_unblended_cost) from "cur"."cur_table" as src '
        "where src.year = '2026'"
    )
    assert check_statement(text, [], table) == [
        "the read of cur_table has no predicate on partition column(s) ['month']"
    ]


def test_the_harness_sees_trino_syntax_and_type_errors() -> None:
    table = glue_table("cur")
    # a dangling comma in a select list
    assert check_statement(
        'select 1, from "cur"."cur_table" as src where src.year = ? and src.month = ?',
        ["'2026'", "'10'"],
        table,
    )[0].startswith("Trino's grammar rejects it at 1:")
    # a string partition compared with a DATE, and a sum over text
    problems = check_statement(
        'select sum(src.line_item_usage_type) from "cur"."cur_table" as src '
        "where src.year = ? and src.month = ?",
        ["DATE '2026-10-01'", "'10'"],
        table,
    )
    assert problems == [
        'sum takes a number, got VARCHAR: SUM("src"."line_item_usage_type")',
        """cannot compare VARCHAR with DATE: "src"."year" = CAST('2026-10-01' AS DATE)""",
    ], problems


@pytest.mark.parametrize(
    ("year", "month", "values"),
    [
        # AWS's integration writes string partitions; October is spelled one way
        ("string", "string", ["'2026'", "'10'"]),
        # some catalogs type them int
        ("int", "int", ["2026", "10"]),
    ],
)
def test_legacy_cur_partitions_of_either_type_conform(
    year: str, month: str, values: list[str]
) -> None:
    table = glue_table("cur", retype={"year": year, "month": month})
    text, sent = _sent(_engine(table), "window_totals")
    assert sent == [*values, "DATE '2026-10-01'", "DATE '2026-11-01'"]
    assert check_statement(text, sent, table) == []


def test_legacy_cur_string_month_matches_1_and_01() -> None:
    table = glue_table("cur")
    engine = _engine(table)
    march = Window(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    cost = cost_sql("cur", engine.source_relation(), table.types(), march, DEFAULT_TAG_ALIASES)
    engine.bind_cost(cost.sql, cost.params)
    text, sent = engine.prepare(
        "window_totals",
        load_catalog().queries["window_totals"].sql,
        {
            "start_date": march.start,
            "end_date": march.end,
        },
    )
    assert "src.month IN (?, ?)" in text
    assert sent[:3] == ["'2026'", "'3'", "'03'"]
    assert check_statement(text, sent, table) == []
