"""Render a report to one self-contained HTML file plus report.json, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nh3
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from finops_agent.insights.base import Insights
from finops_agent.insights.grounding import mark_ungrounded, unwrap_marks
from finops_agent.insights.rules import usd
from finops_agent.report.charts import ColourMap, figure_for
from finops_agent.resources import templates_dir
from finops_agent.summarise import ReportSummary, json_value, records, top_by

RESULT_ROWS_IN_JSON = 1000
TABLE_ROWS = 15
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_html(text: str, flag: Iterable[Any] = ()) -> Markup:
    """Markdown as sanitised HTML; figures in `flag` are wrapped in <mark class="ungrounded">."""
    # sentinels go in before rendering and become <mark> only after nh3 has cleaned the HTML
    flagged = [
        str(item.get("number", "")) if isinstance(item, dict) else getattr(item, "number", item)
        for item in flag
    ]
    marked = mark_ungrounded(text or "", flagged)
    return Markup(unwrap_marks(nh3.clean(_MARKDOWN.render(marked))))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def _cell(value: Any, unit: str | None = None) -> str:
    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        if unit and unit.startswith("USD"):
            return usd(value)
        if unit == "%":
            return f"{value:.1f}%"
        return f"{value:,.2f}"
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
    env.filters.update(usd=usd, pct=_pct, cell=_cell, markdown=markdown_html)
    return env


def _colour_map(summary: ReportSummary) -> ColourMap:
    daily = summary.frame("spend_by_service_daily")
    if daily.empty:
        return ColourMap()
    ranked = daily.groupby("service_name")["unblended_cost"].sum().sort_values(ascending=False)
    return ColourMap([str(s) for s in ranked.index])


def _sections(summary: ReportSummary, colours: ColourMap, top_n: int) -> list[dict[str, Any]]:
    sections = []
    for family in summary.families:
        queries = []
        for name, query in summary.queries.items():
            if query.family != family or name == "window_totals":
                continue
            frame = summary.frame(name)
            figure = figure_for(frame, query.chart, query.title, query.units, colours, top_n)
            chart_html = (
                Markup(
                    pio.to_html(
                        figure,
                        full_html=False,
                        include_plotlyjs=False,
                        div_id=f"chart-{name}",
                        config={"displaylogo": False, "responsive": True},
                    )
                )
                if figure is not None
                else None
            )
            ranked = top_by(
                frame,
                "monthly_savings" if "monthly_savings" in frame.columns else query.cost_column,
                TABLE_ROWS,
            )
            queries.append(
                {
                    "q": query,
                    "chart": chart_html,
                    "table": records(ranked),
                    "result": summary.results.get(name),
                }
            )
        if queries:
            sections.append({"family": family, "queries": queries})
    return sections


def render_html(
    summary: ReportSummary,
    insights: Insights,
    *,
    top_n: int = 10,
    chat: list[dict[str, Any]] | None = None,
) -> str:
    """The whole report as one HTML document with plotly.js inlined once."""
    colours = _colour_map(summary)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            s=summary,
            m=summary.metrics,
            insights=insights,
            sections=_sections(summary, colours, top_n),
            appendix=[r for r in summary.results.values()],
            plotly_js=Markup(get_plotlyjs()),
            chat=chat or [],
        )
    )


def report_json(
    summary: ReportSummary, insights: Insights, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything chat and later tools need about a report, JSON-ready."""
    m = summary.metrics
    return {
        "report_id": summary.report_id,
        "generated_at": summary.generated_at,
        "window": {
            "start": summary.window.start.isoformat(),
            "end": summary.window.end.isoformat(),
        },
        "schema": summary.schema,
        "engine": summary.engine,
        "source": summary.source,
        "families": summary.families,
        "totals": {
            "rows": m.rows,
            "unblended_cost": round(m.unblended_cost, 6),
            "amortized_cost": round(m.amortized_cost, 6),
        },
        "metrics": {
            "rows": m.rows,
            "unblended_cost": m.unblended_cost,
            "amortized_cost": m.amortized_cost,
            "columns": m.columns,
            "analysis_type": m.analysis_type,
            "accounts": m.accounts,
            "services": m.services,
            "days": m.days,
            "change_pct": m.change_pct,
            "findings": m.findings,
            "monthly_savings_usd": m.monthly_savings_usd,
        },
        "queries": {name: r.meta() for name, r in summary.results.items()},
        "results": {
            name: {
                "columns": list(r.frame.columns),
                "rows": records(r.frame, RESULT_ROWS_IN_JSON),
                "truncated": r.rows > RESULT_ROWS_IN_JSON,
            }
            for name, r in summary.results.items()
            if r.ok
        },
        "findings": [f.model_dump() for f in insights.findings],
        "insights": {
            "provider": insights.provider,
            "markdown": insights.markdown,
            "structured": insights.structured,
            "warnings": insights.warnings,
            "usage": insights.usage.model_dump() if insights.usage else None,
            "ungrounded": [u.model_dump() for u in insights.ungrounded],
        },
        "suggested_prompts": [p.model_dump() for p in insights.suggested_prompts],
        "chat": [],
        **(extra or {}),
    }


def atomic_write(path: Path, text: str) -> None:
    """Write text to a temporary file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(
    output_dir: Path,
    summary: ReportSummary,
    insights: Insights,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write report.json then report.html under output_dir/<report_id>/; return the HTML path."""
    folder = output_dir / summary.report_id
    payload = report_json(summary, insights, extra)
    atomic_write(folder / "report.json", json.dumps(payload, indent=1, default=json_value))
    atomic_write(folder / "report.html", render_html(summary, insights))
    write_index(output_dir)
    return folder / "report.html"


def list_reports(output_dir: Path) -> list[dict[str, Any]]:
    """Every complete report under output_dir, newest first (reports without JSON are skipped)."""
    found = []
    for meta in output_dir.glob("*/report.json"):
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if (meta.parent / "report.html").is_file():
            found.append(data)
    return sorted(found, key=lambda d: str(d.get("generated_at", "")), reverse=True)


def write_index(output_dir: Path) -> Path:
    """Regenerate output_dir/index.html listing every report, newest first."""
    reports = list_reports(output_dir)
    html = environment().get_template("index.html.j2").render(reports=reports)
    atomic_write(output_dir / "index.html", html)
    return output_dir / "index.html"
