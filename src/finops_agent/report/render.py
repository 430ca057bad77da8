"""Render a report to one self-contained HTML file plus report.json, written atomically."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nh3
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from finops_agent.catalog import load_catalog
from finops_agent.engines.athena_scan import (
    RunScans,
    ScanModelError,
    Sent,
    load_profile,
    load_window_profile,
    run_scans,
)
from finops_agent.formatting import money, money_unit, number, pct, signed_pct, usd
from finops_agent.insights.base import Insights
from finops_agent.insights.grounding import mark_ungrounded, unwrap_marks
from finops_agent.insights.query_rules import usage_by_service
from finops_agent.report.charts import ColourMap, figure_for
from finops_agent.report.images import Bar, bar_rows
from finops_agent.reports.document import (
    BillRecord,
    FileMeta,
    FindingRecord,
    InsightsRecord,
    Metrics,
    MoneyTotalRecord,
    QueryMeta,
    QueryRows,
    ReportDocument,
    ReportKind,
    ReportWindow,
    SuggestedPromptRecord,
    Totals,
    UngroundedRecord,
    UsageRecord,
)
from finops_agent.reports.folder import (
    CHARTS_JSON,
    LISTING_COLUMNS,
    REPORT_HTML,
    ReportEntry,
    ReportFolder,
)
from finops_agent.reports.folder import write_index as folder_write_index
from finops_agent.resources import templates_dir
from finops_agent.summarise import ReportSummary, json_value, records, top_by
from finops_agent.waterfall import BASIS, basis_of

RESULT_ROWS_IN_JSON = 1000
TABLE_ROWS = 15
# shown at the top of the report (key figures, the bill) rather than as a section of their own
HEADLINE_QUERIES = ("window_totals", "bill_waterfall")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
# a stored query that reads AWS's rows only says so in its WHERE clause
_AWS_ONLY = re.compile(r"\bprovider\s*=\s*'AWS'", re.IGNORECASE)


def aws_only_titles(summary: ReportSummary) -> list[str]:
    """Titles of the report's queries that read AWS rows only (AWS-specific detectors)."""
    catalog = load_catalog().queries
    return [
        spec.title
        for name in summary.queries
        if (spec := catalog.get(name)) is not None and _AWS_ONLY.search(spec.sql)
    ]


def markdown_html(text: str, top_heading: int = 1, flag: Iterable[Any] = ()) -> Markup:
    """Markdown from a model or a template as sanitised HTML (raw HTML in it is escaped).

    `top_heading` demotes headings so the text's first level becomes <h{top_heading}>,
    keeping the page outline intact when model text sits inside a report section; figures
    in `flag` are wrapped in <mark class="ungrounded">.
    """
    # sentinels go in before rendering and become <mark> only after nh3 has cleaned the HTML
    flagged = [
        str(item.get("number", "")) if isinstance(item, dict) else getattr(item, "number", item)
        for item in flag
    ]
    tokens = _MARKDOWN.parse(mark_ungrounded(text or "", flagged))
    if top_heading > 1:
        levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
        shift = top_heading - min(levels, default=top_heading)
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, max(1, int(token.tag[1]) + shift))}"
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return Markup(unwrap_marks(nh3.clean(html)))


_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def plain_text(markdown: str) -> str:
    """Markdown as text a mail client shows as is: headings in capitals, no ** or backticks,
    links as `text (url)`; a line never starts with `From ` (mail systems rewrite it `>From`)."""
    lines = []
    for line in (markdown or "").splitlines():
        heading = _HEADING.match(line)
        if heading:
            line = heading.group(1).upper()
        line = _LINK.sub(r"\1 (\2)", line).replace("**", "").replace("`", "")
        if line.startswith("From "):
            line = "from " + line[5:]
        lines.append(line)
    return "\n".join(lines)


def _cell(value: Any, unit: str | None = None) -> str:
    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        parts = money_unit(unit)
        if parts is not None:
            return money(value, parts[0])
        if unit == "%":
            return pct(value)
        return number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def environment() -> Environment:
    """Jinja environment over templates/ with autoescaping and the report filters."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # pct is a signed change (+7.5%), percent a plain share (12.5%); both print n/a for None
    env.filters.update(
        usd=usd,
        money=money,
        pct=signed_pct,
        percent=pct,
        cell=_cell,
        markdown=markdown_html,
        plaintext=plain_text,
    )
    return env


def _colour_map(summary: ReportSummary) -> ColourMap:
    return ColourMap([str(s) for s in usage_by_service(summary)[0].index])


@dataclass(frozen=True)
class Chart:
    """One charted query: its figure and the same data as bars for places without JavaScript."""

    name: str
    family: str
    title: str
    why: str
    kind: str
    unit: str | None
    figure: go.Figure
    bars: list[Bar]

    @property
    def caption(self) -> str:
        """A one-line text version of the chart for screen readers, print and plain-text email."""
        if not self.bars:
            return ""
        shown = ", ".join(
            f"{b.label} {_cell(b.value, self.unit)} ({pct(b.share)})" for b in self.bars[:3]
        )
        return f"Largest: {shown}."

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for charts.json (the figure as Plotly JSON)."""
        return {
            "name": self.name,
            "family": self.family,
            "title": self.title,
            "why": self.why,
            "kind": self.kind,
            "unit": self.unit,
            "caption": self.caption,
            "figure": json.loads(pio.to_json(self.figure, validate=False)),
            "bars": [asdict(b) for b in self.bars],
        }


def report_charts(summary: ReportSummary, top_n: int = 10) -> dict[str, Chart]:
    """Every charted query of the report, in report order, with consistent colours."""
    colours = _colour_map(summary)
    charts: dict[str, Chart] = {}
    for family in summary.families:
        for name, query in summary.queries.items():
            if query.family != family or name in HEADLINE_QUERIES or query.status != "ok":
                continue
            frame = summary.frame(name)
            figure = figure_for(frame, query.chart, query.title, query.units, colours, top_n)
            if figure is None:
                continue
            unit = query.units.get(query.chart.y or "")
            charts[name] = Chart(
                name=name,
                family=family,
                title=query.title,
                why=query.why,
                kind=query.chart.kind,
                unit=unit,
                figure=figure,
                bars=bar_rows(frame, query.chart, colours),
            )
    return charts


def _sections(summary: ReportSummary, charts: dict[str, Chart]) -> list[dict[str, Any]]:
    catalog = load_catalog().queries
    sections = []
    for family in summary.families:
        queries = []
        for name, query in summary.queries.items():
            if query.family != family or name in HEADLINE_QUERIES:
                continue
            frame = summary.frame(name)
            chart = charts.get(name)
            chart_html = (
                Markup(
                    pio.to_html(
                        chart.figure,
                        full_html=False,
                        include_plotlyjs=False,
                        div_id=f"chart-{name}",
                        config={"displaylogo": False, "responsive": True},
                    )
                )
                if chart is not None
                else None
            )
            ranked = top_by(
                frame,
                "monthly_savings" if "monthly_savings" in frame.columns else query.cost_column,
                TABLE_ROWS,
            )
            basis = basis_of(name, query.chart.y or query.cost_column)
            queries.append(
                {
                    "q": query,
                    "basis": BASIS[basis] if basis else None,
                    "chart": chart_html,
                    "caption": chart.caption if chart is not None else "",
                    "table": records(ranked),
                    "result": summary.results.get(name),
                    "finding": spec.finding if (spec := catalog.get(name)) is not None else None,
                }
            )
        if queries:
            sections.append({"family": family, "queries": queries})
    return sections


def _param_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def athena_scans(summary: ReportSummary) -> RunScans | None:
    """Athena's bytes per statement beside the scan model's; None for a run Athena did not scan."""
    sent = []
    for result in summary.results.values():
        # a statement bound to no window of its own (the extract's UNLOAD) reads the report's
        start = _param_date(result.params.get("start_date")) or summary.window.start
        end = _param_date(result.params.get("end_date")) or summary.window.end
        if result.ok and result.bytes_scanned is not None:
            sent.append(Sent(result.name, result.sql, result.bytes_scanned, start, end))
    if not sent:
        return None
    try:
        return run_scans(
            sent,
            load_profile(summary.schema),
            summary.window.start,
            summary.window.end,
            load_window_profile(summary.schema),
        )
    except ScanModelError:
        # the appendix still shows Athena's own figures; only the model's column stays empty
        return None


def render_html(
    summary: ReportSummary,
    insights: Insights,
    *,
    top_n: int = 10,
    chat: list[dict[str, Any]] | None = None,
    charts: dict[str, Chart] | None = None,
) -> str:
    """The whole report as one HTML document with plotly.js inlined once."""
    charts = charts if charts is not None else report_charts(summary, top_n)
    scans = athena_scans(summary)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            s=summary,
            m=summary.metrics,
            insights=insights,
            findings=sorted(insights.findings, key=lambda f: -f.monthly_savings_usd),
            sections=_sections(summary, charts),
            appendix=[r for r in summary.results.values()],
            scans=scans,
            scan_rows={row.name: row for row in scans.statements} if scans else {},
            scan_cost_usd=sum(r.scan_cost_usd or 0.0 for r in summary.results.values()),
            plotly_js=Markup(get_plotlyjs()),
            bill=summary.waterfall,
            basis=BASIS,
            coverage=summary.coverage,
            chat=chat or [],
            aws_only=aws_only_titles(summary) if summary.other_providers else [],
        )
    )


def report_document(
    summary: ReportSummary,
    insights: Insights,
    *,
    kind: ReportKind = "report",
    tag_keys: dict[str, list[str]] | None = None,
    source_path: str | None = None,
    file: FileMeta | None = None,
) -> ReportDocument:
    """Everything chat and later tools need about a report, as the typed report.json."""
    m = summary.metrics
    bill = summary.waterfall
    return ReportDocument(
        report_id=summary.report_id,
        kind=kind,
        generated_at=summary.generated_at,
        window=ReportWindow(start=summary.window.start, end=summary.window.end),
        schema=summary.schema,
        engine=summary.engine,
        source=summary.source,
        source_path=source_path,
        families=summary.families,
        tag_keys=tag_keys,
        totals=Totals(
            rows=m.rows,
            unblended_cost=round(m.unblended_cost, 6),
            amortized_cost=round(m.amortized_cost, 6),
        ),
        metrics=Metrics(
            rows=m.rows,
            unblended_cost=m.unblended_cost,
            amortized_cost=m.amortized_cost,
            columns=m.columns,
            analysis_type=m.analysis_type,
            accounts=m.accounts,
            services=m.services,
            days=m.days,
            change_pct=m.change_pct,
            findings=m.findings,
            monthly_savings_usd=m.monthly_savings_usd,
        ),
        currency=summary.currency,
        currencies=[MoneyTotalRecord(**vars(c)) for c in summary.currencies],
        providers=[MoneyTotalRecord(**vars(p)) for p in summary.providers],
        bill=BillRecord.model_validate(bill.to_json()) if bill is not None else None,
        coverage=summary.coverage,
        basis=BASIS,
        queries={name: QueryMeta.model_validate(r.meta()) for name, r in summary.results.items()},
        results={
            name: QueryRows(
                columns=[str(c) for c in r.frame.columns],
                rows=records(r.frame, RESULT_ROWS_IN_JSON),
                truncated=r.rows > RESULT_ROWS_IN_JSON,
            )
            for name, r in summary.results.items()
            if r.ok
        },
        findings=[FindingRecord.model_validate(f.model_dump()) for f in insights.findings],
        insights=InsightsRecord(
            provider=insights.provider,
            markdown=insights.markdown,
            structured=insights.structured,
            warnings=insights.warnings,
            usage=UsageRecord.model_validate(insights.usage.model_dump())
            if insights.usage
            else None,
            ungrounded=[
                UngroundedRecord.model_validate(u.model_dump()) for u in insights.ungrounded
            ],
        ),
        suggested_prompts=[
            SuggestedPromptRecord.model_validate(p.model_dump()) for p in insights.suggested_prompts
        ],
        file=file,
    )


def write_report(
    output_dir: Path,
    summary: ReportSummary,
    insights: Insights,
    document: ReportDocument | None = None,
    served: str | None = None,
) -> Path:
    """Write report.json, charts.json, then report.html under output_dir/<report_id>/.

    charts.json keeps each chart's figure and bars so the email can be composed (and
    re-sent) from the report folder alone. Returns the HTML path.
    """
    document = document or report_document(summary, insights)
    folder = ReportFolder.create(output_dir, document.report_id)
    charts = report_charts(summary)
    folder.write(document)
    folder.write_text(
        CHARTS_JSON, json.dumps([c.to_json() for c in charts.values()], default=json_value)
    )
    html = folder.write_text(REPORT_HTML, render_html(summary, insights, charts=charts))
    write_index(output_dir, served)
    return html


def index_html(reports: list[ReportEntry], served: str | None = None) -> str:
    """The reports folder's index page: the columns of `finops list`, each id linking its report.

    With `served` (the portal's base URL) the links open the served reports and their chat.
    """
    # a folder without report.html is a run still writing, or one killed mid-write: no link yet
    shown = [r for r in reports if r.complete or r.document is None]
    return (
        environment()
        .get_template("index.html.j2")
        .render(columns=LISTING_COLUMNS, rows=[r.row() for r in shown], served=served)
    )


def write_index(output_dir: Path, served: str | None = None) -> Path:
    """Regenerate output_dir/index.html listing every report, newest first."""
    return folder_write_index(output_dir, lambda reports: index_html(reports, served))
