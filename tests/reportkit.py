"""Reports for tests: a real pipeline run over the tiny files, and a rich hand-made summary.

The rich summary covers every chart kind (area, stacked bar, bar, pie, line with
anomaly markers) over a 60-day window with a known total, so browser and email
tests can count charts and check figures without the sample-data generator.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from finops_agent.catalog import ChartHint, QuerySpec, load_catalog
from finops_agent.execution import QueryResult, run_query
from finops_agent.insights.base import Insights
from finops_agent.insights.generate import generate_insights
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.pipeline import prepare_run, summarise_run
from finops_agent.report.render import write_report
from finops_agent.settings import load_settings
from finops_agent.summarise import Metrics, ReportSummary, summarise_query
from finops_agent.window import Window

HOSTILE = "<script>alert(1)</script>"
# a value built to break out of Plotly's embedded JSON, then out of an attribute
BREAKOUT = '</script><script>alert("breakout")</script><img src=x onerror=alert(2)>'
WINDOW = Window(dt.date(2026, 9, 1), dt.date(2026, 11, 1))
SERVICES = [
    "Amazon Elastic Compute Cloud",
    "Amazon Simple Storage Service",
    "Amazon Relational Database Service",
    "AWS Lambda",
]
TOTAL = 123_456.78
PREVIOUS_TOTAL = 118_480.59


def pipeline_report(schema: str, source: Path, out: Path) -> Path:
    """Run the real steps (no Prefect) over a local source and write its report."""
    settings = load_settings(output_dir=out)
    run = prepare_run(
        settings, source=str(source), schema=schema, start="2026-10-01", end="2026-11-01"
    )
    try:
        results = [run_query(run.engine, spec, run.params) for spec in run.specs]
    finally:
        run.engine.close()
    summary = summarise_run(run, results)
    insights = generate_insights(RuleInsights(), summary)
    return write_report(out, summary, insights)


def _spec(name: str, family: str, title: str, chart: ChartHint, units: dict[str, str]) -> QuerySpec:
    return QuerySpec(
        name=name,
        family=family,  # type: ignore[arg-type]
        title=title,
        description=f"What {title.lower()} shows.",
        path=Path(f"{name}.sql"),
        chart=chart,
        units=units,
        cost_column=next(iter(units), None),
        why=f"Why {title.lower()} matters.",
    )


def _daily(hostile: bool) -> pd.DataFrame:
    days = pd.date_range(WINDOW.start, WINDOW.end - dt.timedelta(days=1), freq="D")
    rng = np.random.default_rng(7)
    names = [*SERVICES[:-1], HOSTILE if hostile else SERVICES[-1]]
    weights = np.array([0.55, 0.2, 0.2, 0.05])
    rows = []
    for day in days:
        for name, weight in zip(names, weights, strict=True):
            rows.append(
                {
                    "usage_date": day,
                    "service_code": name.split()[-1],
                    "service_name": name,
                    "unblended_cost": weight * TOTAL / len(days) * rng.uniform(0.9, 1.1),
                }
            )
    frame = pd.DataFrame(rows)
    # scale so the window total is exact to the cent
    frame["unblended_cost"] *= TOTAL / frame["unblended_cost"].sum()
    frame["amortized_cost"] = frame["unblended_cost"] * 0.97
    # no credits in this bill: usage before credits is the net cost
    frame["usage_cost"] = frame["unblended_cost"]
    return frame


def _anomalies(daily: pd.DataFrame) -> pd.DataFrame:
    frame = daily.copy()
    frame["z_score"] = 0.1
    spike = (frame["usage_date"] == pd.Timestamp("2026-10-12")) & (
        frame["service_name"] == SERVICES[0]
    )
    frame.loc[spike, "unblended_cost"] *= 3
    frame.loc[spike, "z_score"] = 4.2
    frame["is_anomaly"] = frame["z_score"].abs() >= 3
    return frame


def _ok(spec: QuerySpec, frame: pd.DataFrame, runtime_s: float = 0.05) -> QueryResult:
    return QueryResult(
        spec.name,
        spec.family,
        spec.title,
        "ok",
        f"select * from cost -- {spec.name}",
        {"start_date": WINDOW.start, "end_date": WINDOW.end},
        frame=frame,
        runtime_s=runtime_s,
        bytes_scanned=12_582_912,
        scan_cost_usd=0.00006,
    )


def rich_report(hostile: bool = False, fail: bool = True) -> tuple[ReportSummary, Insights]:
    """A summary with five charts of four kinds, one table, a failed section and rule insights."""
    catalog = load_catalog().queries
    daily = _daily(hostile)
    resource = BREAKOUT if hostile else "vol-0a1"
    extra = {
        "service_share": _spec(
            "service_share",
            "cost",
            "Share of spend by service",
            ChartHint("pie", x="service_name", y="unblended_cost"),
            {"unblended_cost": "USD"},
        ),
        "daily_anomalies": _spec(
            "daily_anomalies",
            "cost",
            "Daily spend anomalies",
            ChartHint("line", x="usage_date", y="unblended_cost", color="service_name"),
            {"unblended_cost": "USD"},
        ),
    }
    gp2 = pd.DataFrame(
        {
            "account_id": ["111111111111"] * 3,
            "region": ["us-east-1"] * 3,
            "resource_id": [resource, "vol-0b2", "vol-0c3"],
            "gb_months": [1000.0, 500.0, 100.0],
            "unblended_cost": [100.0, 50.0, 10.0],
            "monthly_cost": [100.0, 50.0, 10.0],
            "monthly_savings": [20.0, 10.0, 2.0],
        }
    )
    accounts = pd.DataFrame(
        {
            "billing_period": ["2026-09-01", "2026-09-01", "2026-10-01", "2026-10-01"],
            "account_id": ["111111111111", "222222222222"] * 2,
            "account_name": ["prod", HOSTILE if hostile else "dev"] * 2,
            "unblended_cost": [50_000.0, 10_000.0, 52_000.0, 11_456.78],
        }
    )
    totals = pd.DataFrame(
        {"rows": [len(daily)], "unblended_cost": [TOTAL], "amortized_cost": [TOTAL * 0.97]}
    )
    results = [
        _ok(catalog["window_totals"], totals),
        _ok(catalog["spend_by_service_daily"], daily),
        _ok(catalog["spend_by_account_monthly"], accounts),
        _ok(catalog["gp2_volumes"], gp2),
        _ok(
            extra["service_share"],
            daily.groupby("service_name", as_index=False)["unblended_cost"].sum(),
        ),
        _ok(extra["daily_anomalies"], _anomalies(daily)),
    ]
    specs = {**catalog, **extra}
    if fail:
        untagged = catalog["untagged_spend"]
        results.append(
            QueryResult(
                untagged.name,
                untagged.family,
                untagged.title,
                "failed",
                "select broken",
                {},
                error=f"Binder Error: column {HOSTILE if hostile else 'tags'} not found",
            )
        )
    summary = ReportSummary(
        report_id="20261101T060000Z-abc123",
        generated_at="2026-11-01T06:00:00+00:00",
        window=WINDOW,
        schema="cur2",
        engine="duckdb",
        source=HOSTILE if hostile else "/data/cur2/*.parquet",
        families=["architecture", "tagging", "cost"],
        metrics=Metrics(
            rows=len(daily),
            unblended_cost=TOTAL,
            amortized_cost=TOTAL * 0.97,
            columns=24,
            analysis_type="architecture + tagging + cost",
            accounts=2,
            services=4,
            days=WINDOW.days,
            previous_unblended_cost=PREVIOUS_TOTAL,
        ),
        queries={r.name: summarise_query(specs[r.name], r, 10) for r in results},
        results={r.name: r for r in results},
    )
    insights = generate_insights(RuleInsights(), summary)
    if hostile:
        insights.markdown += f"\n\nModel says {HOSTILE} and {BREAKOUT} [x](javascript:alert(3))"
        insights.findings[0].title = HOSTILE
        insights.findings[0].action = BREAKOUT
    return summary, insights


def write_rich_report(out: Path, hostile: bool = False) -> Path:
    """Write the rich report under out/ and return its HTML path."""
    summary, insights = rich_report(hostile)
    return write_report(out, summary, insights)


# charts the rich report must show: area, stacked bar, bar, pie, line with anomalies
RICH_CHARTS = 5
