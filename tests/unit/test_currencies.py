"""Reports on bills with two currencies and two providers: amounts in different currencies are
never added, every figure carries the report's currency, and the providers are named.

The mixed bill is a generated FOCUS export rewritten in the test: one account billed in EUR,
another account's rows from a second provider. Expected totals come straight from the rewritten
files with pyarrow, never from the project's code; amounts are formatted here by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from finops_agent.currencies import (
    AUTO,
    CURRENCY_SURVEY,
    SURVEY_SQL,
    UnknownCurrencyError,
    check_currency_choice,
    choose_currency,
    currency_totals,
    slices_from_frame,
)
from finops_agent.engines.athena import AthenaEngine
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.formatting import in_currency, money_unit
from finops_agent.insights.base import Insights
from finops_agent.orchestration.artifacts import summary_markdown
from finops_agent.pipeline import prepare_run
from finops_agent.report.charts import axis_title
from finops_agent.report.email import compose_email
from finops_agent.reports.folder import list_reports
from finops_agent.runs.report import ReportRequest, ReportSteps, build_report
from finops_agent.settings import DEFAULT_TAG_ALIASES, SettingValueError, load_settings
from finops_agent.sources import cost_sql, detect_schema
from finops_agent.summarise import ReportSummary
from finops_agent.window import Window
from tests.support.conformance import DATABASE, FLAVOURS, check_statement, glue_table

START, END = "2026-10-01", "2026-11-01"
OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
SYMBOL = {"USD": "$", "EUR": "€"}


def _shown(amount: float, currency: str) -> str:
    """An amount as the report prints it, written out by hand: `€1,234.56`, `-$3.10`."""
    cents = round(amount, 2)
    return f"{'-' if cents < 0 else ''}{SYMBOL[currency]}{abs(cents):,.2f}"


def _rewrite(source: Path, target: Path, eur_account: str, other_account: str) -> None:
    """Copy a FOCUS Parquet export: one account billed in EUR, another's rows from Microsoft."""
    for path in sorted(source.rglob("*.parquet")):
        table = pq.read_table(path)
        account = table["SubAccountId"]
        currency = pc.if_else(pc.equal(account, eur_account), "EUR", table["BillingCurrency"])
        provider = pc.if_else(pc.equal(account, other_account), "Microsoft", table["ProviderName"])
        table = table.set_column(
            table.schema.get_field_index("BillingCurrency"), "BillingCurrency", currency
        )
        table = table.set_column(
            table.schema.get_field_index("ProviderName"), "ProviderName", provider
        )
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out)


def _october(folder: Path) -> pa.Table:
    """October's rows of a FOCUS Parquet export, read straight from the files."""
    table = pa.concat_tables(
        pq.read_table(
            p, columns=["ChargePeriodStart", "BillingCurrency", "ProviderName", "BilledCost"]
        )
        for p in sorted(folder.rglob("*.parquet"))
    )
    start = pa.scalar(dt.datetime(2026, 10, 1), type=table["ChargePeriodStart"].type)
    end = pa.scalar(dt.datetime(2026, 11, 1), type=table["ChargePeriodStart"].type)
    keep = pc.and_(
        pc.greater_equal(table["ChargePeriodStart"], start),
        pc.less(table["ChargePeriodStart"], end),
    )
    return table.filter(keep)


def _expected(folder: Path) -> dict[tuple[str, str], tuple[int, float]]:
    """(currency, provider) -> (line items, billed cost) of October, from the files."""
    grouped = (
        _october(folder)
        .group_by(["BillingCurrency", "ProviderName"])
        .aggregate([("BilledCost", "count"), ("BilledCost", "sum")])
    )
    return {
        (c, p): (n, s)
        for c, p, n, s in zip(
            grouped["BillingCurrency"].to_pylist(),
            grouped["ProviderName"].to_pylist(),
            grouped["BilledCost_count"].to_pylist(),
            grouped["BilledCost_sum"].to_pylist(),
            strict=True,
        )
    }


@pytest.fixture(scope="module")
def bills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated single-currency AWS FOCUS export and its mixed rewrite."""
    from finops_agent.sample_data import generate
    from tests.conftest import SAMPLE_END

    plain = tmp_path_factory.mktemp("focus-usd")
    generate("focus", plain, rows=6_000, months=2, seed=7, fmt="parquet", end=SAMPLE_END)
    whole = pa.concat_tables(
        pq.read_table(p, columns=["SubAccountId", "BilledCost"]) for p in plain.rglob("*.parquet")
    )
    by_account = whole.group_by("SubAccountId").aggregate([("BilledCost", "sum")])
    # the smallest account is billed in EUR, so USD stays the larger currency
    accounts = [
        a
        for _, a in sorted(
            zip(
                by_account["BilledCost_sum"].to_pylist(),
                by_account["SubAccountId"].to_pylist(),
                strict=True,
            )
        )
    ]
    assert len(accounts) >= 3, accounts
    mixed = tmp_path_factory.mktemp("focus-mixed")
    _rewrite(plain / "data", mixed / "data", eur_account=accounts[0], other_account=accounts[1])
    return {"plain": plain / "data", "mixed": mixed / "data"}


class _Report:
    """One report built through the run's own steps, with what the artifact would publish."""

    def __init__(self, source: Path, out: Path, currency: str | None) -> None:
        self.artifact = ""
        self.summary: ReportSummary | None = None

        def announce(summary: ReportSummary, insights: Insights, path: Path) -> list[str]:
            self.summary = summary
            self.artifact = summary_markdown(summary, insights, path)
            return []

        request = ReportRequest(
            source=str(source), start=START, end=END, output_dir=str(out), currency=currency
        )
        self.html_path = build_report(request, ReportSteps(announce=announce, say=lambda _: None))
        self.html = self.html_path.read_text(encoding="utf-8")
        self.data = json.loads((self.html_path.parent / "report.json").read_text())
        email = compose_email(
            self.html_path.parent,
            sender="finops@example.com",
            recipients=["team@example.com"],
            max_bytes=10_000_000,
            with_images=False,
        ).message
        self.subject = str(email["Subject"])
        self.email_text = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        self.email_html = email.get_body(("html",)).get_content()  # type: ignore[union-attr]
        (entry,) = list_reports(out)
        self.listing = entry.row()

    def texts(self) -> dict[str, str]:
        """Every place a reader sees money: page (without plotly.js), json, email, artifact."""
        page = re.sub(r"<script>.*?</script>", "", self.html, count=1, flags=re.S)
        return {
            "report.html": page,
            "report.json": json.dumps(self.data, ensure_ascii=False),
            "subject": self.subject,
            "email text": self.email_text,
            "email html": self.email_html,
            "artifact": self.artifact,
        }


@pytest.fixture(scope="module")
def auto_report(bills: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> _Report:
    return _Report(bills["mixed"], tmp_path_factory.mktemp("auto"), AUTO)


@pytest.fixture(scope="module")
def eur_report(bills: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> _Report:
    return _Report(bills["mixed"], tmp_path_factory.mktemp("eur"), "eur")


def test_auto_reports_the_largest_currency_to_the_cent_and_states_the_other(
    bills: dict[str, Path], auto_report: _Report
) -> None:
    expected = _expected(bills["mixed"])
    usd = sum(s for (c, _), (_, s) in expected.items() if c == "USD")
    usd_rows = sum(n for (c, _), (n, _) in expected.items() if c == "USD")
    eur = sum(s for (c, _), (_, s) in expected.items() if c == "EUR")
    eur_rows = sum(n for (c, _), (n, _) in expected.items() if c == "EUR")
    # the rewrite leaves USD the larger currency, or auto would pick EUR
    assert usd > eur > 0
    data = auto_report.data
    assert data["currency"] == "USD"
    assert round(data["metrics"]["unblended_cost"], 2) == round(usd, 2)
    assert data["metrics"]["rows"] == usd_rows
    assert data["bill"]["currency"] == "USD" and round(data["bill"]["net_total"], 2) == round(
        usd, 2
    )
    assert [(c["name"], c["rows"], round(c["unblended_cost"], 2)) for c in data["currencies"]] == [
        ("USD", usd_rows, round(usd, 2)),
        ("EUR", eur_rows, round(eur, 2)),
    ]
    # the other currency in a visible box, with its own total and line items and the command
    box = re.search(r'<section[^>]*id="other-currencies".*?</section>', auto_report.html, re.S)
    assert box is not None
    assert f"net {_shown(eur, 'EUR')} over {eur_rows:,} line items" in box.group(0)
    assert "finops report --currency EUR --source " in box.group(0)
    assert f"--start {START} --end {END}</code>" in box.group(0)
    assert f'id="metric-total-cost">{_shown(usd, "USD")}<' in auto_report.html
    assert f"EUR: net {_shown(eur, 'EUR')} over {eur_rows:,} line items" in auto_report.email_text
    assert (
        f"(finops report --currency EUR --source {bills['mixed']} --start {START} --end {END})"
        in auto_report.email_text
    )
    assert re.fullmatch(
        rf"Cloud cost report 2026-10: {re.escape(_shown(usd, 'USD'))}( \([+-][0-9.]+%\))?",
        auto_report.subject,
    ), auto_report.subject
    assert f"| Net cost | {_shown(usd, 'USD')} |" in auto_report.artifact
    assert auto_report.listing.total == _shown(usd, "USD")


def test_no_sum_across_currencies_appears_anywhere(
    bills: dict[str, Path], auto_report: _Report, eur_report: _Report
) -> None:
    expected = _expected(bills["mixed"])
    mixed_total = sum(s for _, s in expected.values())
    mixed = [_shown(mixed_total, "USD"), _shown(mixed_total, "EUR"), f"{mixed_total:,.2f}"]
    for report in (auto_report, eur_report):
        for where, text in report.texts().items():
            for figure in mixed:
                assert figure not in text, f"{figure} (USD + EUR) in {where}"


def test_a_chosen_currency_prints_euros_everywhere(
    bills: dict[str, Path], eur_report: _Report
) -> None:
    expected = _expected(bills["mixed"])
    eur = sum(s for (c, _), (_, s) in expected.items() if c == "EUR")
    usd = sum(s for (c, _), (_, s) in expected.items() if c == "USD")
    data = eur_report.data
    assert data["currency"] == "EUR" and round(data["metrics"]["unblended_cost"], 2) == round(
        eur, 2
    )
    assert data["bill"]["currency"] == "EUR"
    assert f'id="metric-total-cost">{_shown(eur, "EUR")}<' in eur_report.html
    # the EUR account is AWS's: one provider, so the title may say AWS
    assert "<h1>AWS cost report</h1>" in eur_report.html
    assert eur_report.subject.startswith("AWS cost report 2026-10: " + _shown(eur, "EUR"))
    assert f"Total cost (net):           {_shown(eur, 'EUR')}" in eur_report.email_text
    assert f"| Net cost | {_shown(eur, 'EUR')} |" in eur_report.artifact
    assert (eur_report.listing.total, eur_report.listing.savings[0]) == (_shown(eur, "EUR"), "€")
    # findings' savings, chart axes and table cells are in euros, not dollars
    savings = data["metrics"]["monthly_savings_usd"]
    assert savings > 0
    assert f'Est. monthly savings</span><span class="value">{_shown(savings, "EUR")}<' in (
        eur_report.html
    )
    for finding in data["findings"]:
        if finding["monthly_savings_usd"] > 0:
            assert "€" in finding["evidence"] and "$" not in finding["evidence"], finding
    charts = json.loads((eur_report.html_path.parent / "charts.json").read_text())
    money_axes = [c for c in charts if c["unit"] and money_unit(c["unit"])]
    assert money_axes and all(c["unit"].startswith("EUR") for c in money_axes)
    assert all(
        c["figure"]["layout"]["yaxis"].get("tickprefix") == "€"
        for c in money_axes
        if c["kind"] != "pie"
    )
    # and the dollars are stated, never added
    assert f"USD</strong>: net {_shown(usd, 'USD')}" in eur_report.html


def test_two_providers_title_the_report_cloud_and_split_the_headline(
    bills: dict[str, Path], auto_report: _Report
) -> None:
    expected = _expected(bills["mixed"])
    providers = sorted(
        ((p, n, round(s, 2)) for (c, p), (n, s) in expected.items() if c == "USD"),
        key=lambda t: -t[2],
    )
    assert [p for p, _, _ in providers] == ["AWS", "Microsoft"]
    data = auto_report.data
    assert [(p["name"], p["rows"], round(p["unblended_cost"], 2)) for p in data["providers"]] == (
        providers
    )
    assert "<h1>Cloud cost report</h1>" in auto_report.html
    assert "AWS cost report" not in auto_report.subject
    assert auto_report.subject.startswith("Cloud cost report 2026-10: ")
    for name, rows, cost in providers:
        line = re.search(rf'<li data-provider="{name}">.*?</li>', auto_report.html, re.S)
        assert line is not None, name
        assert _shown(cost, "USD") in line.group(0) and f"({rows:,} line items)" in line.group(0)
        assert f"| {name} | {_shown(cost, 'USD')} | {rows:,} |" in auto_report.artifact
    # the AWS-only detectors are named as such
    note = re.search(r'<p[^>]*id="aws-only-note">(.*?)</p>', auto_report.html, re.S)
    assert note is not None and "gp2 volumes to migrate to gp3" in note.group(1)


def test_a_single_currency_aws_bill_reads_as_before(bills: dict[str, Path], tmp_path: Path) -> None:
    expected = _expected(bills["plain"])
    assert set(expected) == {("USD", "AWS")}
    rows, cost = expected[("USD", "AWS")]
    report = _Report(bills["plain"], tmp_path, AUTO)
    assert report.data["currency"] == "USD"
    assert report.data["metrics"]["rows"] == rows
    assert round(report.data["metrics"]["unblended_cost"], 2) == round(cost, 2)
    assert "<h1>AWS cost report</h1>" in report.html
    assert 'id="other-currencies"' not in report.html and "data-provider" not in report.html
    assert report.subject.startswith(f"AWS cost report 2026-10: {_shown(cost, 'USD')}")


class _CountingEngine(DuckDBEngine):
    """DuckDB engine that records what ran, to show nothing runs after a bad currency."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.ran: list[str] = []
        self.bound = 0

    def execute(self, name: str, sql: str, params: Mapping[str, object], **kw: Any) -> Any:
        self.ran.append(name)
        return super().execute(name, sql, params, **kw)

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        self.bound += 1
        super().bind_cost(cost_sql, params)


def test_an_unknown_currency_names_those_present_before_other_queries_run(
    bills: dict[str, Path],
) -> None:
    engine = _CountingEngine(str(bills["mixed"]))
    with pytest.raises(
        UnknownCurrencyError,
        match=r"^currency JPY is not billed in .* in this window; currencies present: USD, EUR$",
    ):
        prepare_run(load_settings(), start=START, end=END, engine=engine, currency="jpy")
    # the window bound once (every currency), the survey, then nothing
    assert (engine.ran, engine.bound) == ([CURRENCY_SURVEY], 1)


def test_a_bill_with_several_currencies_is_bound_again_to_one_and_a_single_one_is_not(
    bills: dict[str, Path],
) -> None:
    mixed = _CountingEngine(str(bills["mixed"]))
    run = prepare_run(load_settings(), start=START, end=END, engine=mixed, currency="EUR")
    try:
        (count,) = mixed.raw_sql("select count(*) from cost where currency <> 'EUR'")[0]
        assert (run.currency, mixed.bound, count) == ("EUR", 2, 0)
    finally:
        run.engine.close()
    plain = _CountingEngine(str(bills["plain"]))
    run = prepare_run(load_settings(), start=START, end=END, engine=plain, currency="auto")
    run.engine.close()
    assert (run.currency, plain.bound, [c.name for c in run.currencies]) == ("USD", 1, ["USD"])


def test_the_currency_setting_is_auto_or_a_code(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(currency="eur").currency == "EUR"
    assert load_settings(currency=" Auto ").currency == "auto"
    with pytest.raises(
        SettingValueError, match=r"^--currency: 'euro' is neither auto nor a three-letter"
    ):
        load_settings(currency="euro")
    monkeypatch.setenv("FINOPS_CURRENCY", "US$")
    with pytest.raises(
        SettingValueError, match=r"^FINOPS_CURRENCY: 'US\$' is neither auto nor a three-letter"
    ):
        load_settings()
    with pytest.raises(UnknownCurrencyError, match=r"--currency '€' is neither auto nor"):
        check_currency_choice("€", what="--currency")


def test_choosing_a_currency_from_the_survey() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "currency": ["USD", "EUR", "USD", None],
            "provider": ["AWS", "AWS", "Microsoft", ""],
            "rows": [3, 5, 2, 1],
            "unblended_cost": [10.0, 40.0, 5.5, 1.0],
        }
    )
    # EUR's 40.00 beats USD's 10.00 + 5.50 + 1.00 (an empty currency reads as USD)
    totals = currency_totals(slices_from_frame(frame))
    assert [(t.name, t.rows, t.unblended_cost) for t in totals] == [
        ("EUR", 5, 40.0),
        ("USD", 6, 16.5),
    ]
    assert choose_currency(totals, "auto", source="s") == "EUR"
    assert choose_currency(totals, "usd", source="s") == "USD"
    assert choose_currency([], "auto", source="s") is None
    with pytest.raises(UnknownCurrencyError, match=r"currencies present: none \(no line items\)"):
        choose_currency([], "GBP", source="s")


def test_money_units_follow_the_report_currency() -> None:
    units = {"cost": "USD", "monthly_savings": "USD/month", "size": "GB", "hours": "Hrs"}
    assert in_currency(units, "EUR") == {
        "cost": "EUR",
        "monthly_savings": "EUR/month",
        "size": "GB",
        "hours": "Hrs",
    }
    assert (money_unit("EUR/day"), money_unit("GB"), money_unit(None)) == (
        ("EUR", "/day"),
        None,
        None,
    )
    assert axis_title("unblended_cost", "EUR/day") == "Unblended cost (€ per day)"
    assert axis_title("cost", "JPY") == "Cost (JPY)"
    assert axis_title("monthly_savings", "USD/month") == "Monthly savings ($ per month)"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_survey_and_a_currency_bound_query_conform_to_athena(flavour: str) -> None:
    """The survey runs over the adapter like a stored query; the currency is a WHERE parameter."""
    table = glue_table(flavour)
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    engine = AthenaEngine(DATABASE, table.table, session=session)
    types = table.types()
    schema = detect_schema(list(types))
    every = cost_sql(schema, engine.source_relation(), types, OCTOBER, DEFAULT_TAG_ALIASES)
    engine.bind_cost(every.sql, every.params)
    text, values = engine.prepare(CURRENCY_SURVEY, SURVEY_SQL, {})
    assert check_statement(text, values, table) == []
    bound = cost_sql(
        schema, engine.source_relation(), types, OCTOBER, DEFAULT_TAG_ALIASES, currency="EUR"
    )
    engine.bind_cost(bound.sql, bound.params)
    text, values = engine.prepare(
        "window_totals",
        "select sum(unblended_cost) as cost from cost where usage_date >= :start_date",
        {"start_date": OCTOBER.start},
    )
    assert check_statement(text, values, table) == []
    assert values.count("'EUR'") == 1


@pytest.mark.parametrize("schema", ["cur", "cur2"])
def test_cur_rows_are_chosen_by_line_item_currency_code(schema: str, tmp_path: Path) -> None:
    from finops_agent.catalog import load_catalog
    from finops_agent.execution import run_query
    from tests import tiny

    folder = tiny.write(schema, tmp_path / "bill")
    (path,) = folder.rglob("*.parquet")
    table = pq.read_table(path)
    # every other line item billed in EUR
    codes = pa.array(["EUR" if i % 2 else "USD" for i in range(table.num_rows)])
    table = table.set_column(
        table.schema.get_field_index("line_item_currency_code"), "line_item_currency_code", codes
    )
    pq.write_table(table, path)
    eur = pc.filter(table, pc.equal(table["line_item_currency_code"], "EUR"))
    expected = round(pc.sum(eur["line_item_unblended_cost"]).as_py(), 2)
    run = prepare_run(load_settings(), source=str(folder), start=START, end=END, currency="EUR")
    try:
        totals = run_query(run.engine, load_catalog().queries["window_totals"], run.params)
    finally:
        run.engine.close()
    assert totals.ok, totals.error
    assert run.currency == "EUR" and {c.name for c in run.currencies} == {"USD", "EUR"}
    assert eur.num_rows > 0
    assert round(float(totals.frame["unblended_cost"].iloc[0]), 2) == expected
    assert int(totals.frame["rows"].iloc[0]) == eur.num_rows


@pytest.mark.parametrize("version", ["1.0", "1.2"])
def test_the_generators_mixed_focus_csv_is_surveyed_to_the_cent(
    version: str, tmp_path: Path
) -> None:
    """The generator's own second currency and Azure rows (no x_ columns, NULL cells) in CSV."""
    import csv
    from decimal import Decimal

    from finops_agent.sample_data import generate
    from tests.conftest import SAMPLE_END

    generate(
        "focus",
        tmp_path,
        rows=3_000,
        months=2,
        seed=11,
        fmt="csv",
        end=SAMPLE_END,
        focus_version=version,  # type: ignore[arg-type]
        second_currency="GBP",
        second_provider=True,
    )
    expected: dict[tuple[str, str], list[Any]] = {}
    for path in sorted((tmp_path / "data").rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if not START <= row["ChargePeriodStart"][:10] < END:
                    continue
                key = (row["BillingCurrency"], row["ProviderName"])
                count, total = expected.setdefault(key, [0, Decimal(0)])
                cost = Decimal(row["BilledCost"]) if row["BilledCost"] not in ("", "NULL") else 0
                expected[key] = [count + 1, total + cost]
    assert {c for c, _ in expected} == {"USD", "GBP"}
    assert {p for _, p in expected} == {"AWS", "Microsoft"}
    run = prepare_run(
        load_settings(), source=str(tmp_path / "data"), start=START, end=END, currency="GBP"
    )
    run.engine.close()
    by_currency = {
        c.name: (c.rows, round(Decimal(str(c.unblended_cost)), 2)) for c in run.currencies
    }
    for code in ("USD", "GBP"):
        rows = sum(n for (c, _), (n, _) in expected.items() if c == code)
        total = sum((s for (c, _), (_, s) in expected.items() if c == code), Decimal(0))
        assert by_currency[code] == (rows, round(total, 2)), code
    assert [(p.name, p.rows) for p in run.providers] == sorted(
        ((p, n) for (c, p), (n, _) in expected.items() if c == "GBP"), key=lambda t: t[0]
    )


def test_the_cli_reports_a_chosen_currency_and_warns_of_the_other(
    bills: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from typer.testing import CliRunner

    from finops_agent.cli import app

    # no Prefect server named and none answering on the serve port: the report runs in-process
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PREFECT_API_URL", "")
    monkeypatch.setenv("FINOPS_SERVE_PORT", str(port))
    expected = _expected(bills["mixed"])
    usd = sum(s for (c, _), (_, s) in expected.items() if c == "USD")
    usd_rows = sum(n for (c, _), (n, _) in expected.items() if c == "USD")
    source = str(bills["mixed"])
    args = ["report", "--source", source, "--start", START, "--end", END]
    out = tmp_path / "r"
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--currency", "EUR"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith("report.html")
    warning = " ".join(result.stderr.split())
    assert (
        f"warning: also billed in USD: {_shown(usd, 'USD')} over {usd_rows:,} line items, not "
        f"added to this EUR report; report it with: finops report --currency USD --source "
        f"{source} --start {START} --end {END}"
    ) in warning
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--currency", "GBP"])
    assert result.exit_code != 0
    assert "currencies present: USD, EUR" in result.stderr


class _CopyOnceEngine(_CountingEngine):
    """A DuckDB engine that, like Athena extract mode, binds its window once and for all."""

    def plan_extract(
        self, query_sqls: Any, *, max_scan_bytes: int | None = None, comparisons: Any = None
    ) -> None:
        """Nothing to plan: the whole window is local."""

    def extract_result(self) -> None:
        """No copy statement to show."""

    def extract_results(self) -> dict[str, Any]:
        """No copy statements to show."""
        return {}

    def comparison_source(self, start: Any, end: Any) -> None:
        """No comparison copy: the comparisons read the files."""

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        if self.bound:
            raise AssertionError("a copy-once engine was bound twice")
        super().bind_cost(cost_sql, params)


def test_an_engine_that_copies_the_window_once_copies_only_the_reports_currency(
    bills: dict[str, Path],
) -> None:
    expected = _expected(bills["mixed"])
    eur_rows = sum(n for (c, _), (n, _) in expected.items() if c == "EUR")
    engine = _CopyOnceEngine(str(bills["mixed"]))
    run = prepare_run(load_settings(), start=START, end=END, engine=engine, currency="EUR")
    try:
        rows = engine.raw_sql("select currency, count(*) from cost group by currency")
    finally:
        run.engine.close()
    # the survey ran on the source before the one copy, which holds EUR's rows only
    assert (engine.ran, engine.bound, rows) == ([CURRENCY_SURVEY], 1, [("EUR", eur_rows)])
    assert [c.name for c in run.currencies] == ["USD", "EUR"]


def _respell(source: Path, target: Path) -> None:
    """Copy the mixed export with its codes written loosely: every other EUR row `eur `, every
    third USD row empty (as some exports leave the code of a zero-rated line)."""
    for path in sorted(source.rglob("*.parquet")):
        table = pq.read_table(path)
        codes = table["BillingCurrency"].to_pylist()
        loose = [
            ("eur " if i % 2 else c) if c == "EUR" else ("" if i % 3 == 0 else c)
            for i, c in enumerate(codes)
        ]
        table = table.set_column(
            table.schema.get_field_index("BillingCurrency"), "BillingCurrency", pa.array(loose)
        )
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out)


@pytest.mark.parametrize(("chosen", "spellings"), [("EUR", {"EUR", "eur "}), ("USD", {"USD", ""})])
def test_a_chosen_currency_keeps_every_row_the_survey_counted_under_it(
    bills: dict[str, Path], tmp_path: Path, chosen: str, spellings: set[str]
) -> None:
    _respell(bills["mixed"], tmp_path / "data")
    october = _october(tmp_path / "data")
    keep = pc.is_in(october["BillingCurrency"], pa.array(sorted(spellings)))
    expected = october.filter(keep)
    engine = DuckDBEngine(str(tmp_path / "data"))
    try:
        columns = engine.source_columns()
        adapter = cost_sql(
            detect_schema(list(columns)),
            engine.source_relation(),
            columns,
            Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
            DEFAULT_TAG_ALIASES,
            currency=chosen,
        )
        engine.bind_cost(adapter.sql, adapter.params)
        frame = engine.execute(
            "t", "select count(*) as n, sum(unblended_cost) as c from cost", {}
        ).frame
    finally:
        engine.close()
    assert len(expected) > 0
    assert int(frame["n"].iloc[0]) == len(expected)
    assert float(frame["c"].iloc[0]) == pytest.approx(
        pc.sum(expected["BilledCost"]).as_py(), abs=1e-6
    )
