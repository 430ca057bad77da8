"""The materialise mode's CTAS: its text is exact, its table is named safely, `cost` is bound to
that table, and the CTAS and every stored query over its table pass the conformance harness for
every Glue flavour."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

import boto3
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.engines.athena import AthenaEngine
from finops_agent.engines.athena_extract import adapter_columns, extract_location
from finops_agent.engines.athena_materialise import (
    MaterialiseStatement,
    ctas_statement,
    window_table,
)
from finops_agent.engines.base import MATERIALISE_FOLDER
from finops_agent.execution import bound_params
from finops_agent.identifiers import UnsafeIdentifierError
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import COST_COLUMNS, cost_sql, detect_schema
from finops_agent.window import Window
from tests.support.conformance import (
    DATABASE,
    FLAVOURS,
    GlueTable,
    check_statement,
    glue_table,
    trino_parameters,
)

OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
RUN_PARAMS: dict[str, object] = {"start_date": OCTOBER.start, "end_date": OCTOBER.end}
LOCATION = "s3://finops-results/athena/finops-materialise/run-1/"
TABLE = "finops_window_run_1"
# Athena's documented form: CREATE TABLE db.table WITH (property = 'value', ...) AS SELECT ...
CTAS_FORM = re.compile(
    r'^CREATE TABLE "cur"\."(finops_window_[a-z0-9_]+)" '
    r"WITH \(format = 'PARQUET', write_compression = 'ZSTD', "
    r"external_location = '(s3://[^']+/)'\) AS (SELECT .*)$",
    re.DOTALL,
)
# the canonical columns as Glue types them once the CTAS has written them (the adapter's casts)
GLUE_TYPES = {
    "date": "date",
    "timestamp": "timestamp",
    "varchar": "string",
    "double": "double",
    "map(varchar, varchar)": "map<string,string>",
}


def test_ctas_of_a_small_adapter_is_exact() -> None:
    adapter = (
        "select src.a as account_id, src.c as unblended_cost, src.r as resource_id "
        "from t as src where src.d >= :start_date and src.d < :end_date"
    )
    statement = ctas_statement(
        adapter,
        {"start_date": dt.date(2026, 10, 1), "end_date": dt.date(2026, 11, 1)},
        ["select account_id, sum(unblended_cost) as c from cost group by 1"],
        "cur",
        TABLE,
        LOCATION,
    )
    assert statement.sql == (
        'CREATE TABLE "cur"."finops_window_run_1" '
        "WITH (format = 'PARQUET', write_compression = 'ZSTD', "
        "external_location = 's3://finops-results/athena/finops-materialise/run-1/') "
        "AS SELECT src.a AS account_id, src.c AS unblended_cost FROM t AS src "
        "WHERE src.d >= ? AND src.d < ?"
    )
    assert statement.params == ["DATE '2026-10-01'", "DATE '2026-11-01'"]
    assert statement.columns == ("account_id", "unblended_cost")
    assert (statement.database, statement.table, statement.location) == ("cur", TABLE, LOCATION)
    assert statement.select == (
        "SELECT src.a AS account_id, src.c AS unblended_cost FROM t AS src "
        "WHERE src.d >= ? AND src.d < ?"
    )


def test_in_an_enforcing_workgroup_the_ctas_names_no_location() -> None:
    statement = ctas_statement(
        "select src.a as account_id from t as src where src.d >= :start_date",
        {"start_date": dt.date(2026, 10, 1)},
        ["select account_id from cost"],
        "cur",
        TABLE,
        None,
    )
    assert statement.sql == (
        'CREATE TABLE "cur"."finops_window_run_1" '
        "WITH (format = 'PARQUET', write_compression = 'ZSTD') "
        "AS SELECT src.a AS account_id FROM t AS src WHERE src.d >= ?"
    )
    assert statement.location is None


def test_cost_is_bound_to_the_tables_columns_by_name() -> None:
    statement = MaterialiseStatement(
        sql="",
        params=[],
        columns=("usage_date", "account_id", "unblended_cost"),
        database="cur",
        table=TABLE,
        location=LOCATION,
        select="",
    )
    assert statement.relation() == (
        'select "usage_date", "account_id", "unblended_cost" from "cur"."finops_window_run_1"'
    )


def test_the_tables_folder_is_the_runs_own_under_the_results_location() -> None:
    assert extract_location("s3://finops-results/athena/", "run-1", MATERIALISE_FOLDER) == LOCATION


@pytest.mark.parametrize(
    ("run_id", "table"),
    [
        # a uuid4 hex, as the engine makes its run ids
        ("0f3a9c6e1b2d4e5f8a7b6c5d4e3f2a1b", "finops_window_0f3a9c6e1b2d4e5f8a7b6c5d4e3f2a1b"),
        # upper case folded, `-` to `_` (Glue stores names in lower case)
        ("Run-ABC-1", "finops_window_run_abc_1"),
        # what `finops doctor` probes with
        ("doctor_1a2b", "finops_window_doctor_1a2b"),
    ],
)
def test_window_table_names_the_runs_table(run_id: str, table: str) -> None:
    assert window_table(run_id) == table


@pytest.mark.parametrize("run_id", ["run.1", "run 1", 'run"1', "run;drop", "rün", "x/y"])
def test_window_table_refuses_what_is_not_an_identifier(run_id: str) -> None:
    with pytest.raises(
        UnsafeIdentifierError,
        match=re.escape(f"materialised window table 'finops_window_{run_id}' is not a plain"),
    ):
        window_table(run_id)


@pytest.mark.parametrize(
    ("database", "table", "message"),
    [
        ('cur"; drop', TABLE, "Athena database"),
        ("cur", "finops_window_x.y", "materialised window table"),
    ],
)
def test_ctas_refuses_names_it_would_paste_unsafely(
    database: str, table: str, message: str
) -> None:
    with pytest.raises(UnsafeIdentifierError, match=message):
        ctas_statement(
            "select src.a as account_id from t as src",
            {},
            ["select * from cost"],
            database,
            table,
            LOCATION,
        )


@cache
def _full_report_ctas(flavour: str) -> MaterialiseStatement:
    """The CTAS a full report sends for `flavour`: every stored query's columns."""
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
    return ctas_statement(
        adapter.sql, adapter.params, [s.sql for s in specs], DATABASE, TABLE, LOCATION
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_full_report_ctas_conforms_to_athena(flavour: str) -> None:
    statement = _full_report_ctas(flavour)
    form = CTAS_FORM.match(statement.sql)
    assert form is not None, statement.sql[:200]
    assert form.groups() == (TABLE, LOCATION, statement.select)
    # the SELECT: Trino's grammar and types, `?` only in WHERE, the partitions pruned
    assert check_statement(statement.select, statement.params, glue_table(flavour)) == []
    # the whole CTAS in Trino's own grammar, with as many `?` as parameters are sent
    assert trino_parameters(statement.sql) == len(statement.params)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_full_report_ctas_keeps_only_the_columns_stored_queries_read(flavour: str) -> None:
    table = glue_table(flavour)
    types = table.types()
    adapter = cost_sql(
        detect_schema(list(types)), f'"{DATABASE}"."{table.table}"', types, OCTOBER, {}
    )
    statement = _full_report_ctas(flavour)
    assert set(adapter_columns(adapter.sql)) - set(statement.columns) == {
        "payer_account_id",
        "operation",
        "pricing_unit",
        "service_category",
    }


def _window_glue_table(statement: MaterialiseStatement) -> GlueTable:
    """The CTAS's table as Glue holds it: the columns it wrote, their canonical types, no partitions."""
    canonical = {name: GLUE_TYPES[kind] for name, kind, _ in COST_COLUMNS}
    return GlueTable(
        "materialised", statement.table, {c: canonical[c] for c in statement.columns}, ()
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_stored_query_over_the_window_table_conforms_to_athena(flavour: str) -> None:
    statement = _full_report_ctas(flavour)
    # an engine that is never started: building clients makes no request
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    engine = AthenaEngine(DATABASE, glue_table(flavour).table, session=session)
    engine.bind_cost(statement.relation(), {})
    window = _window_glue_table(statement)
    problems: dict[str, list[str]] = {}
    for spec in load_catalog().queries.values():
        text, values = engine.prepare(
            spec.name, spec.sql, {**RUN_PARAMS, **bound_params(spec, RUN_PARAMS)}
        )
        # the source table is not read again: the window's table is the only relation
        assert f'"{DATABASE}"."{window.table}"' in text and glue_table(flavour).table not in text
        if found := check_statement(text, values, window):
            problems[spec.name] = found
    assert problems == {}
