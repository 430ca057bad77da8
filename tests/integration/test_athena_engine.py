"""The Athena engine under moto: Glue schema detection, the SQL Athena receives, bound values, failures, limits."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
import requests
import sqlglot
from moto.athena.models import athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from sqlglot import exp
from sqlglot.tokens import TokenType

from finops_agent.catalog import load_catalog
from finops_agent.engines.athena import AthenaEngine
from finops_agent.engines.athena_params import athena_literal, to_qmark
from finops_agent.engines.sql import with_cost
from finops_agent.execution import run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings
from finops_agent.sources import SourceError
from tests import tiny
from tests.support.athena import (
    REGION,
    AthenaPlan,
    Behaviour,
    column_info,
    create_cur2_table,
    marker,
    rows_of,
)
from tests.support.bounded import join_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _queue(rows: list[list[str | None]], columns: list[str]) -> None:
    """One queued Athena result (header row first), consumed by the next query; NULL (None) has
    no VarCharValue, as Athena sends it."""
    data = [{"Data": [{"VarCharValue": c} for c in columns]}] + [
        {"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows
    ]
    info = [column_info(c) for c in columns]
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
        json={"region": REGION, "results": [{"rows": data, "column_info": info}]},
        timeout=5,
    )


@pytest.fixture
def athena(tmp_path: Path, mocked_aws: boto3.Session) -> Any:
    """Settings for the Athena engine over a Glue table of CUR 2.0 columns (moto)."""
    create_cur2_table(tmp_path)
    yield load_settings(
        engine="athena",
        athena_database="cur",
        athena_table="cost_and_usage",
        athena_output="s3://athena-results/q/",
        aws_region=REGION,
        output_dir=tmp_path / "reports",
    )


def test_literals_and_placeholders() -> None:
    assert athena_literal(dt.date(2026, 10, 1)) == "DATE '2026-10-01'"
    assert athena_literal("it's") == "'it''s'"
    assert athena_literal(0.2) == "0.2" and athena_literal(25) == "25"
    text, values = to_qmark(
        "select 1 from cost where a = :x and b like 'user:Owner' and c = :y and d = :x",
        {"x": "q", "y": 3},
    )
    assert text.count("?") == 3 and "'user:Owner'" in text and values == ["'q'", "3", "'q'"]


@pytest.mark.parametrize(
    ("sql", "bound", "pasted"),
    [
        # a select list, CASE and arithmetic take literals; the WHERE keeps its `?`
        (
            "select case when x > :lo then :label end, y * :share from cost where d >= :day",
            ["DATE '2026-10-01'"],
            ["> 5", "THEN 'it''s'", "* 0.2"],
        ),
        # a WHERE inside a subquery binds; the subquery's own select list does not
        (
            "select a from cost where a in (select :lo from t where b = :label)",
            ["'it''s'"],
            ["SELECT 5 FROM"],
        ),
        # HAVING, LIMIT and an aggregate's FILTER (WHERE …) are not WHERE clauses
        (
            "select count(*) filter (where x = :lo) from cost group by 1 having sum(y) > :share "
            "limit 5",
            [],
            ["x = 5", "> 0.2"],
        ),
        # a negative number next to a minus stays two tokens, never a `--` comment
        ("select date_add('day', -:neg, d) from cost", [], ["- -3"]),
    ],
    ids=["select-list", "subquery", "having-limit-filter", "negative"],
)
def test_athena_binds_only_where_clauses_and_literals_fill_the_rest(
    sql: str, bound: list[str], pasted: list[str]
) -> None:
    params = {"lo": 5, "label": "it's", "share": 0.2, "day": dt.date(2026, 10, 1), "neg": -3}
    text, values = to_qmark(sql, params)
    assert values == bound
    assert all(piece in text for piece in pasted), text
    assert ":" not in text.replace("'", "")


def _placeholders_in_where(sql: str) -> list[exp.Placeholder]:
    """Every `?` of `sql`, after checking that its nearest clause is a WHERE."""
    tree = sqlglot.parse_one(sql, read="athena")
    marks = list(tree.find_all(exp.Placeholder))
    for mark in marks:
        clause = mark.find_ancestor(exp.Where, exp.Select, exp.Having, exp.Join, exp.Filter)
        assert isinstance(clause, exp.Where) and isinstance(clause.parent, exp.Select), (
            clause.sql() if clause else sql
        )
    return marks


def _fill(sql: str, values: list[str]) -> str:
    """`sql` with its `?` tokens replaced by `values` in text order, as Athena applies them."""
    marks = [
        t for t in sqlglot.tokenize(sql, read="athena") if t.token_type == TokenType.PLACEHOLDER
    ]
    assert len(marks) == len(values)
    for token, value in reversed(list(zip(marks, values, strict=True))):
        sql = sql[: token.start] + value + sql[token.end + 1 :]
    return sql


@pytest.mark.hostile
def test_hostile_values_stay_quoted_and_only_where_clauses_carry_parameters(
    athena: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tag key full of SQL reaches Athena as one quoted literal or one bound value, never as SQL."""
    hostile = "owner') or 1=1; drop table cost; --"
    run = prepare_run(athena, start="2026-10-01", end="2026-11-01", families=["tagging"])
    spec = load_catalog().queries["tag_value_hygiene"]
    AthenaPlan(monkeypatch).when(marker(spec), Behaviour(columns=["tag_value"]))
    params = {**spec.bind({"tag_key": hostile}), **run.params}
    result = run_query(run.engine, spec, params)
    assert result.ok, result.error
    (execution,) = athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions.values()
    sent, values = execution.query, execution.execution_parameters
    assert len(sqlglot.parse(sent, read="athena")) == 1
    assert len(_placeholders_in_where(sent)) == len(values) == 4
    # the hostile key is a bound value in the WHERE and an intact literal in the select list
    assert values.count(athena_literal(hostile)) == 1
    literals = [lit.this for lit in sqlglot.parse_one(sent, read="athena").find_all(exp.Literal)]
    assert hostile in literals
    # the values line up with the `?`s: filled in, the SQL is the query with every value inline
    cost = run.engine._cost_sql  # type: ignore[attr-defined]
    inline = sqlglot.parse_one(with_cost(cost, spec.sql), read="athena").transform(
        lambda node: (
            sqlglot.parse_one(
                athena_literal({**run.engine._cost_params, **params}[node.name]),  # type: ignore[attr-defined]
                read="athena",
            )
            if isinstance(node, exp.Placeholder)
            else node
        )
    )
    assert sqlglot.parse_one(_fill(sent, values), read="athena") == inline


def test_schema_from_glue_and_the_sql_athena_receives(athena: Any) -> None:
    run = prepare_run(
        athena,
        start="2026-10-01",
        end="2026-11-01",
        queries=["window_totals", "gp2_volumes"],
        families=["cost"],
    )
    assert run.engine.name == "athena" and run.schema == "cur2"
    _queue(
        [["6", "1", "2026-10-03", "2026-10-03", "34.0", "34.0", "34.0", "1", "2", "4"]],
        [
            "rows",
            "days",
            "first_day",
            "last_day",
            "unblended_cost",
            "amortized_cost",
            "public_cost",
            "accounts",
            "services",
            "resources",
        ],
    )
    totals = run_query(run.engine, run.specs[0], run.params)
    assert totals.ok, totals.error
    assert float(totals.frame["unblended_cost"].iloc[0]) == 34.0
    (execution,) = athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions.values()
    sql = execution.query
    # the adapter is the first CTE, the window prunes partitions, values travel as parameters
    assert sql.startswith("WITH cost AS (")
    assert '"cur"."cost_and_usage" AS src' in sql and "src.billing_period = ?" in sql
    assert "2026-10" not in sql
    assert execution.execution_parameters == ["'2026-10'", "DATE '2026-10-01'", "DATE '2026-11-01'"]
    # data scanned reaches the appendix; Athena bills at least 10 MB
    meta = totals.meta()
    assert meta["query_id"] == execution.id and meta["bytes_scanned"] == 0
    assert meta["scan_cost_usd"] == pytest.approx(10 * 1024 * 1024 / 1e12 * 5, abs=1e-6)


@pytest.mark.fault
def test_a_failed_query_is_a_failed_section_naming_athenas_reason(
    athena: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Athena ends the query FAILED with a user error: the section names it and is not retried."""
    plan = AthenaPlan(monkeypatch)
    spec = load_catalog().queries["spend_by_region"]
    reason = "COLUMN_NOT_FOUND: line 3:8: Column 'x' cannot be resolved"
    error = {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False, "ErrorMessage": reason}
    plan.when(marker(spec), Behaviour(athena_error=error))
    run = prepare_run(athena, start="2026-10-01", end="2026-11-01", families=["cost"])
    result = run_query(run.engine, spec, run.params)
    assert result.status == "failed" and not result.transient
    assert "'spend_by_region'" in result.error and "Column 'x' cannot be resolved" in result.error  # type: ignore[operator]
    assert plan.executions_of(marker(spec))[0] in str(result.error)


@pytest.mark.hostile
def test_missing_table_and_bad_identifiers_are_named(athena: Any) -> None:
    with pytest.raises(SourceError, match=r"cur\.nope"):
        AthenaEngine("cur", "nope").source_columns()
    with pytest.raises(ValueError, match="table"):
        AthenaEngine("cur", "cost; drop table x")


def test_queries_run_side_by_side_within_the_concurrency_bound(
    athena: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = AthenaPlan(monkeypatch)
    # every query stays RUNNING for three polls (about a second), then succeeds
    plan.when("FROM cost", Behaviour(columns=["x"], rows=[["1"]], running_polls=3))
    engine = AthenaEngine(
        "cur", "cost_and_usage", s3_output="s3://athena-results/q/", max_concurrency=2
    )
    engine.bind_cost("select 1 as x", {})
    frames: list[Any] = []
    threads = [
        threading.Thread(
            target=lambda i=i: frames.append(engine.execute(f"q{i}", "select x from cost", {}))
        )
        for i in range(6)
    ]
    for t in threads:
        t.start()
    join_all(threads, 120, "Athena queries")
    assert len(frames) == 6 and plan.peak == 2 and len(plan.starts) == 6


def test_a_whole_report_on_athena(athena: Any, tmp_path: Path) -> None:
    """Every stored query through Athena (answers queued from DuckDB's on the same data), then the report."""
    from finops_agent.insights.generate import generate_insights
    from finops_agent.insights.query_rules import RuleInsights
    from finops_agent.pipeline import render_report, summarise_run

    local = prepare_run(
        load_settings(),
        source=str(tiny.write("cur2", tmp_path / "local")),
        start="2026-10-01",
        end="2026-11-01",
    )
    answers = [run_query(local.engine, spec, local.params) for spec in local.specs]
    local.engine.close()
    for answer in answers:
        columns, rows = rows_of(answer.frame)
        _queue(rows, columns)
    run = prepare_run(athena, start="2026-10-01", end="2026-11-01")
    results = [run_query(run.engine, spec, run.params) for spec in run.specs]
    assert [r.name for r in results if not r.ok] == []
    summary = summarise_run(run, results)
    assert summary.engine == "athena" and summary.metrics.unblended_cost == pytest.approx(34.0)
    path = render_report(run, summary, generate_insights(RuleInsights(), summary))
    html = path.read_text()
    assert "$34.00" in html and "athena:cur.cost_and_usage" in html
    executions = athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions.values()
    assert len(executions) == len(run.specs)
    # after the question each stored query opens with (kept as a comment), the adapter comes first
    bodies = [re.sub(r"^/\*.*?\*/\s*", "", e.query, flags=re.S) for e in executions]
    assert [
        b[:40]
        for b in bodies
        if not (b.startswith("WITH cost AS (") and "src.billing_period = ?" in b)
    ] == []


def test_an_empty_text_comes_back_empty_and_null_comes_back_missing(athena: Any) -> None:
    """Athena's result CSV quotes an empty text ("") and leaves NULL unquoted; awswrangler reads
    both as missing, the engine keeps them apart, as DuckDB's answer does."""
    _queue([["", "1"], [None, "2"], ["web", "3"]], ["tag_value", "resources"])
    engine = AthenaEngine.from_settings(athena)
    try:
        engine.bind_cost("select 1 as x from cur.cost_and_usage as src", {})
        frame = engine.execute(
            "t", "select tag_value, resources from cost order by resources", {}
        ).frame
    finally:
        engine.close()
    values = frame["tag_value"].tolist()
    assert values[0] == "" and values[2] == "web"
    assert pd.isna(values[1])
