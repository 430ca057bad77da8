"""The chat SQL guard lets one read-only SELECT over `cost` through and nothing else."""

from __future__ import annotations

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from finops_agent.chat.guard import UnsafeSqlError, check_sql


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("drop table cost", "only SELECT"),
        ("insert into cost select * from cost", "only SELECT"),
        ("delete from cost", "only SELECT"),
        ("select 1 from cost; drop table cost", "exactly one statement"),
        ("select 1 from cost; select 2 from cost", "exactly one statement"),
        # a comment cannot hide a second statement, nor can a block comment close early
        ("select 1 from cost /* */; drop table cost -- ", "exactly one statement"),
        (
            "select * from cost where 1=1 --\n; attach 'x.db' as x",
            "exactly one statement|does not parse",
        ),
        ("select * from read_csv('/etc/passwd')", "table functions|read_csv"),
        ("select * from read_parquet('s3://bucket/*.parquet')", "read_parquet|table functions"),
        ("select * from 'data/other.csv'", "not allowed"),
        ("select * from glob('/home/*')", "does not parse|glob"),
        ("select read_text('/etc/passwd') from cost", "read_text"),
        ("select getenv('HOME') from cost", "getenv"),
        ("select current_setting('home_directory') from cost", "current_setting"),
        ("select * from duckdb_settings()", "table functions|duckdb_settings"),
        ("attach 'other.db' as other", "does not parse|only SELECT"),
        ("copy cost to '/tmp/out.csv'", "only SELECT"),
        ("install httpfs", "only SELECT"),
        ("load httpfs", "only SELECT"),
        ("pragma database_list", "only SELECT"),
        ("set threads = 1", "only SELECT"),
        ("select * into stolen from cost", "INTO"),
        ("select * from raw_cost", "'raw_cost' is not allowed"),
        ("select * from main.cost", "qualified name"),
        ("select * from information_schema.tables", "qualified name"),
        ("select * from cost join sqlite_master on true", "not allowed"),
        ("select * from cost where account_id in (select id from secrets)", "'secrets'"),
        # a CTE named like a real relation still reads the real one inside its body
        ("with raw_cost as (select * from raw_cost) select * from raw_cost", "raw_cost"),
        ("with cost as (select 1 as unblended_cost) select * from cost", "may not be named 'cost'"),
        ("select * from cost where account_id = :acct", "parameters"),
        ("select * from cost limit (select 5)", "whole number"),
        ("", "empty"),
        ("select 1 from cost\x00; drop table cost", "NUL"),
    ],
)
def test_unsafe_sql_is_rejected_with_the_rule_it_breaks(sql: str, reason: str) -> None:
    with pytest.raises(UnsafeSqlError, match=reason):
        check_sql(sql)


def test_missing_limit_is_added() -> None:
    checked = check_sql("select service_code, sum(unblended_cost) from cost group by 1")
    assert checked.limit == 200 and checked.note == "LIMIT 200 added"
    assert checked.sql.endswith("LIMIT 200")


def test_huge_limit_is_capped_and_small_limit_kept() -> None:
    capped = check_sql("select * from cost limit 1000000", max_rows=50)
    assert (capped.limit, capped.note) == (50, "LIMIT 1000000 capped at 50")
    kept = check_sql("select * from cost limit 7", max_rows=50)
    assert (kept.limit, kept.note) == (7, "")


def test_ctes_unions_and_comments_are_fine() -> None:
    checked = check_sql(
        """-- top services
        with by_service as (select service_code, sum(unblended_cost) as c from cost group by 1),
        ranked as (select * from by_service where c > 0)
        select * from ranked union all select 'total', sum(c) from by_service;"""
    )
    assert checked.sql.startswith("WITH by_service AS") and checked.sql.endswith("LIMIT 200")


def test_results_relation_only_when_allowed() -> None:
    with pytest.raises(UnsafeSqlError, match="'results'"):
        check_sql("select * from results")
    assert check_sql("select * from results", allowed={"cost", "results"}).limit == 200


@given(
    limit=st.none() | st.integers(min_value=0, max_value=10**12),
    max_rows=st.integers(min_value=1, max_value=10_000),
)
def test_guarded_sql_is_a_fixed_point_with_a_bounded_limit(
    limit: int | None, max_rows: int
) -> None:
    sql = "select service_code, count(*) as n from cost group by service_code"
    checked = check_sql(sql + ("" if limit is None else f" limit {limit}"), max_rows=max_rows)
    assert checked.limit == (max_rows if limit is None else min(limit, max_rows))
    # checking the guard's own output changes nothing: what runs is what was checked
    assert check_sql(checked.sql, max_rows=max_rows).sql == checked.sql


_TOKENS = [
    "select",
    "*",
    "from",
    "cost",
    "raw_cost",
    "read_csv('x')",
    "where",
    "1=1",
    ";",
    "--",
    "/*",
    "*/",
    "with",
    "t",
    "as",
    "(",
    ")",
    ",",
    "union",
    "all",
    "limit",
    "5",
    "drop",
    "table",
    "'",
    '"',
    "attach",
    "copy",
    "into",
    "main.cost",
    "glob('*')",
    "getenv('A')",
    "join",
    "on",
    "true",
    "pragma",
    "x",
    "sum(unblended_cost)",
    "group",
    "by",
    "\n",
]


@pytest.mark.hostile
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=14))
def test_any_text_is_refused_cleanly_or_comes_out_as_a_limited_select_on_cost(
    tokens: list[str],
) -> None:
    sql = " ".join(tokens)
    try:
        checked = check_sql(sql, max_rows=50)
    except UnsafeSqlError:
        return
    tree = sqlglot.parse_one(checked.sql, read="athena")
    assert isinstance(tree, (exp.Select, exp.SetOperation))
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    assert {t.name for t in tree.find_all(exp.Table)} <= {"cost"} | ctes
    assert not any(isinstance(f, exp.ReadCSV) for f in tree.find_all(exp.Func))
    assert checked.limit <= 50
