"""The scan model behind the report's Athena appendix: scans per statement, and the split."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from finops_agent.engines.athena_scan import (
    ScanModelError,
    Sent,
    load_profile,
    run_scans,
    statement_scans,
)
from finops_agent.execution import QueryResult
from finops_agent.report import render
from tests.reportkit import rich_report

OCTOBER = (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
MB = 1024 * 1024
ADAPTER = (
    "select src.a as a, src.b as b, src.c as c "
    'from "cur"."cost_and_usage" as src where src.s >= ? and src.s < ?'
)
# reads a and the filter column s, once
ONE_SCAN = f"with cost as ({ADAPTER}) select sum(a) as total from cost"
# a self-join: two scans, one reading a and b, the other only the join key a (and s each)
TWO_SCANS = f"with cost as ({ADAPTER}) select x.b from cost as x join cost as y on x.a = y.a"
PROFILE = {"a": 1.0, "b": 3.0, "s": 0.5}


def test_each_reference_to_the_source_is_a_scan_of_the_columns_it_needs() -> None:
    # without the table's column list: the adapter qualifies every source column
    assert statement_scans(ONE_SCAN) == [frozenset({"a", "s"})]
    assert statement_scans(TWO_SCANS) == [frozenset({"a", "b", "s"}), frozenset({"a", "s"})]


def test_an_unload_scans_what_its_select_reads() -> None:
    # the extract mode's one statement: the adapter's window, unloaded to Parquet
    unload = (
        f"UNLOAD ({ADAPTER}) TO 's3://results/finops-extract/run-1/' "
        "WITH (format = 'PARQUET', compression = 'SNAPPY')"
    )
    assert statement_scans(unload) == [frozenset({"a", "b", "c", "s"})]


def test_a_statement_that_does_not_parse_is_named_as_such() -> None:
    with pytest.raises(ScanModelError, match="cannot parse the statement"):
        statement_scans("select from where")
    with pytest.raises(ScanModelError, match="cannot resolve the statement's columns"):
        statement_scans("select * from cost")


def test_the_run_total_is_split_by_column_weight_and_one_pass_reads_the_union_once() -> None:
    sent = [
        Sent("one", ONE_SCAN, 10 * MB, *OCTOBER),
        Sent("two", TWO_SCANS, 95 * MB, *OCTOBER),
    ]
    scans = run_scans(sent, PROFILE, *OCTOBER)
    assert scans is not None
    # weights per day: one = a + s = 1.5; two = (a + b + s) + (a + s) = 6.0; 105 MB split 1.5 : 6
    assert [(s.name, s.scans, s.estimated_bytes) for s in scans.statements] == [
        ("one", 1, 21 * MB),
        ("two", 2, 84 * MB),
    ]
    assert scans.actual_bytes == 105 * MB
    # one pass: a + b + s = 4.5 of the 7.5 weighed
    assert scans.one_pass_bytes == 63 * MB
    assert scans.ratio == pytest.approx(105 / 63)


def test_a_statement_over_more_days_weighs_more_and_stays_out_of_one_pass() -> None:
    two_months = (dt.date(2026, 9, 1), dt.date(2026, 11, 1))
    sent = [
        Sent("window", ONE_SCAN, 31 * MB, *OCTOBER),
        # reads b only beyond the window: the window's one pass must not include it
        Sent("months", TWO_SCANS, 61 * MB, *two_months),
    ]
    scans = run_scans(sent, PROFILE, *OCTOBER)
    assert scans is not None
    # weights: 1.5 x 31 days = 46.5 and 6.0 x 61 days = 366; 92 MB in all
    total = 46.5 + 366.0
    assert [s.estimated_bytes for s in scans.statements] == [
        round(92 * MB * 46.5 / total),
        round(92 * MB * 366.0 / total),
    ]
    assert scans.one_pass_bytes == round(92 * MB * 1.5 * 31 / total)


def test_a_column_the_profile_lacks_weighs_as_the_median_column() -> None:
    sent = [
        Sent("known", ONE_SCAN, 10 * MB, *OCTOBER),
        Sent("unknown", ONE_SCAN.replace("sum(a)", "sum(c)"), 10 * MB, *OCTOBER),
    ]
    scans = run_scans(sent, PROFILE, *OCTOBER)
    assert scans is not None
    # c weighs the median of 1.0, 3.0, 0.5 = 1.0, so both statements weigh 1.5 a day
    assert [s.estimated_bytes for s in scans.statements] == [10 * MB, 10 * MB]


def test_statements_that_name_no_source_table_are_left_out() -> None:
    sent = [Sent("local", "select * from cost", 12 * MB, *OCTOBER)]
    assert run_scans(sent, PROFILE, *OCTOBER) is None


def test_the_shipped_profile_covers_every_schema_and_the_cost_columns() -> None:
    assert load_profile("cur2")["line_item_unblended_cost"] > 0
    assert load_profile("cur")["line_item_unblended_cost"] > 0
    assert load_profile("focus")["billedcost"] > 0
    with pytest.raises(ScanModelError, match="no profile for schema 'azure'"):
        load_profile("azure")


def test_an_unreadable_profile_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('{"other": {}}', encoding="utf-8")
    with pytest.raises(ScanModelError, match=re.escape(f"{path}: no 'bytes_per_row' object")):
        load_profile("cur2", path)


def test_the_appendix_shows_the_estimate_beside_athenas_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary, insights = rich_report(fail=False)
    window = {"start_date": summary.window.start, "end_date": summary.window.end}
    for name, sql, scanned in (
        ("athena_one", ONE_SCAN, 10 * MB),
        ("athena_two", TWO_SCANS, 95 * MB),
    ):
        summary.results[name] = QueryResult(
            name, "cost", name, "ok", sql, dict(window), bytes_scanned=scanned, scan_cost_usd=0.0005
        )
    monkeypatch.setattr(render, "load_profile", lambda schema: PROFILE)
    html = render.render_html(summary, insights)
    assert '<th scope="col" class="num">Estimate</th>' in html
    row = re.search(r"<td>athena_two</td>.*?</tr>", html, re.DOTALL)
    assert row is not None
    # Athena's 95.0 MB beside the model's 84.0 MB over two scans
    assert re.findall(r'<td class="num">([^<]*)</td>', row.group(0))[-3:-1] == [
        "95.0 MB",
        "84.0 MB (2 scans)",
    ]
    note = re.search(r'<p id="athena-scan">(.*?)<span', html, re.DOTALL)
    assert note is not None
    assert "The 2 statements that read the source table scanned 105.0 MB" in note.group(1)
    assert "would read about 63.0 MB: this run read 1.7x that" in note.group(1)


def test_a_run_without_athena_bytes_has_no_estimate_column() -> None:
    summary, insights = rich_report(fail=False)
    html = render.render_html(summary, insights)
    assert "Estimate</th>" not in html
    assert 'id="athena-scan"' not in html


def test_the_extract_unload_without_window_params_is_weighed_over_the_report_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary, _ = rich_report(fail=False)
    unload = (
        f"UNLOAD ({ADAPTER}) TO 's3://results/finops-extract/run-1/' "
        "WITH (format = 'PARQUET', compression = 'SNAPPY')"
    )
    window = {"start_date": summary.window.start, "end_date": summary.window.end}
    # extract mode: the UNLOAD carries no parameters of its own; a comparison stays on Athena
    summary.results["athena_extract"] = QueryResult(
        "athena_extract", "cost", "extract", "ok", unload, {}, bytes_scanned=55 * MB
    )
    summary.results["athena_one"] = QueryResult(
        "athena_one", "cost", "one", "ok", ONE_SCAN, dict(window), bytes_scanned=5 * MB
    )
    monkeypatch.setattr(render, "load_profile", lambda schema: PROFILE)
    scans = render.athena_scans(summary)
    assert scans is not None
    # a + b + c + s = 1.0 + 3.0 + 1.0 (c: the median) + 0.5 = 5.5 a day against one's 1.5
    assert [(s.name, s.estimated_bytes) for s in scans.statements] == [
        ("athena_extract", round(60 * MB * 5.5 / 7.0)),
        ("athena_one", round(60 * MB * 1.5 / 7.0)),
    ]
    # one pass reads the UNLOAD's columns: all of a, b, c and s
    assert scans.one_pass_bytes == round(60 * MB * 5.5 / 7.0)


# materialise mode: the queries read the run's window table, its canonical columns by name
WINDOW_TABLE = 'select "x", "y" from "cur"."finops_window_run1"'
OVER_WINDOW = f"with cost as ({WINDOW_TABLE}) select sum(x) as total from cost"
CTAS = (
    'CREATE TABLE "cur"."finops_window_run1" WITH (format = \'PARQUET\', '
    "write_compression = 'ZSTD', external_location = 's3://results/finops-materialise/run1/') "
    f"AS {ADAPTER}"
)
# bytes per row of the window table's columns: far fewer than the source columns they come from
WINDOW_PROFILE = {"x": 0.25, "y": 0.75}


def test_a_ctas_scans_what_its_select_reads_and_not_the_table_it_creates() -> None:
    # the created table is database-qualified too: it must not count as a second scan
    assert statement_scans(CTAS) == [frozenset({"a", "b", "c", "s"})]


def test_a_query_over_the_window_table_reads_its_bare_columns_without_the_table_schema() -> None:
    # the relation names its columns unqualified; the report has no column list of that table
    assert statement_scans(OVER_WINDOW) == [frozenset({"x"})]


def test_scans_of_the_window_table_weigh_by_its_own_profile_and_stay_out_of_one_pass() -> None:
    sent = [
        Sent("athena_materialise", CTAS, 40 * MB, *OCTOBER),
        Sent("over_window", OVER_WINDOW, 10 * MB, *OCTOBER),
        Sent("one", ONE_SCAN, 10 * MB, *OCTOBER),
    ]
    scans = run_scans(sent, PROFILE, *OCTOBER, WINDOW_PROFILE)
    assert scans is not None
    # per day: CTAS a + b + c + s = 1.0 + 3.0 + 1.0 (c: the source median) + 0.5 = 5.5;
    # over_window x = 0.25 (the window profile, not the source's median 1.0); one a + s = 1.5.
    # 60 MB split 5.5 : 0.25 : 1.5 of 7.25
    assert [(s.name, s.scans, s.estimated_bytes) for s in scans.statements] == [
        ("athena_materialise", 1, round(60 * MB * 5.5 / 7.25)),
        ("over_window", 1, round(60 * MB * 0.25 / 7.25)),
        ("one", 1, round(60 * MB * 1.5 / 7.25)),
    ]
    # one pass: the source columns a, b, c, s once; x is not a source column
    assert scans.one_pass_bytes == round(60 * MB * 5.5 / 7.25)
    # without a window profile the window table's x weighs as a source column (the median 1.0)
    plain = run_scans(sent, PROFILE, *OCTOBER)
    assert plain is not None
    assert [s.estimated_bytes for s in plain.statements] == [
        round(60 * MB * 5.5 / 8.0),
        round(60 * MB * 1.0 / 8.0),
        round(60 * MB * 1.5 / 8.0),
    ]


def test_the_appendix_weighs_queries_over_the_window_table_by_its_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary, _ = rich_report(fail=False)
    window = {"start_date": summary.window.start, "end_date": summary.window.end}
    # materialise mode: the CTAS carries no parameters of its own; the query reads its table
    summary.results["athena_materialise"] = QueryResult(
        "athena_materialise", "cost", "materialise", "ok", CTAS, {}, bytes_scanned=50 * MB
    )
    summary.results["over_window"] = QueryResult(
        "over_window", "cost", "over", "ok", OVER_WINDOW, dict(window), bytes_scanned=3 * MB
    )
    monkeypatch.setattr(render, "load_profile", lambda schema: PROFILE)
    monkeypatch.setattr(render, "load_window_profile", lambda schema: WINDOW_PROFILE)
    scans = render.athena_scans(summary)
    assert scans is not None
    # CTAS a + b + c (the median) + s = 5.5 a day against the window table's x = 0.25
    assert [(s.name, s.estimated_bytes) for s in scans.statements] == [
        ("athena_materialise", round(53 * MB * 5.5 / 5.75)),
        ("over_window", round(53 * MB * 0.25 / 5.75)),
    ]
    assert scans.one_pass_bytes == round(53 * MB * 5.5 / 5.75)
