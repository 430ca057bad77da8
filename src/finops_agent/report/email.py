"""The email variant of a report: inlined-CSS HTML with cid PNG charts (or HTML bars), plain text,
and the interactive report attached or linked, composed from the report folder alone."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import css_inline

from finops_agent.email_addresses import check_address, check_header
from finops_agent.errors import UserError
from finops_agent.formatting import change_pct, money, signed_pct
from finops_agent.insights.query_rules import ANOMALY_QUERY
from finops_agent.report.images import ChartImageError, ChartImages, find_chromium
from finops_agent.report.render import environment
from finops_agent.reports.document import (
    ChatTurnRecord,
    ReportDocument,
    ReportDocumentError,
    ReportWindow,
    load,
)
from finops_agent.reports.folder import CHARTS_JSON, REPORT_HTML, REPORT_JSON
from finops_agent.window import period_text

log = logging.getLogger(__name__)
# Charts most worth a glance in an inbox, in this order; other charts follow in report order.
KEY_CHARTS: tuple[str, ...] = (
    "spend_by_service_daily",
    "daily_anomalies",
    "month_over_month_by_service",
    "spend_by_account_monthly",
)
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


class ReportFolderError(UserError, FileNotFoundError):
    """The report folder lacks a file the email needs; the message names it."""


@dataclass
class ComposedEmail:
    """A finished message and what went into it."""

    message: EmailMessage
    size_bytes: int
    images: int
    attached: bool
    linked: bool
    warnings: list[str] = field(default_factory=list)


def period_label(start: dt.date, end: dt.date) -> str:
    """'2026-10' for one whole month, '2026-09 to 2026-10' for whole months, else the dates."""
    return period_text(start, end)


def _window(report: ReportDocument) -> ReportWindow:
    if report.window is None:
        raise ReportFolderError(f"report {report.report_id} has no billing window to email")
    return report.window


def subject_line(report: ReportDocument) -> str:
    """'AWS cost report 2026-10: $123,456.78 (+4.2%)' (no change part when it is unknown).

    The amount is in the report's currency; a report with a provider other than AWS is a
    'Cloud cost report'.
    """
    window = _window(report)
    period = period_label(window.start, window.end)
    change = report.metrics.change_pct
    suffix = f" ({signed_pct(change)})" if change is not None else ""
    return check_header(
        "Subject",
        f"{report.title} {period}: {money(report.metrics.unblended_cost, report.currency)}{suffix}",
    )


def load_report(report_dir: Path) -> tuple[ReportDocument, list[dict[str, Any]]]:
    """report.json and charts.json of a report folder; raise ReportFolderError naming the file."""
    try:
        # the folder is the caller's (a run's own output or a checked id): its name is not checked
        report = load(report_dir / REPORT_JSON)
    except ReportDocumentError as exc:
        raise ReportFolderError(str(exc)) from None
    charts_path = report_dir / CHARTS_JSON
    try:
        charts = json.loads(charts_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        # reports written before charts.json existed still email, with text only
        charts = []
    if not (report_dir / REPORT_HTML).is_file():
        raise ReportFolderError(f"{report_dir / REPORT_HTML} does not exist")
    return report, charts


def key_charts(charts: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The charts the email shows: the preferred ones first, then the rest in report order."""
    by_name = {c["name"]: c for c in charts}
    ordered = [by_name[n] for n in KEY_CHARTS if n in by_name]
    ordered += [c for c in charts if c["name"] not in KEY_CHARTS]
    return ordered[:limit]


def render_images(
    charts: list[dict[str, Any]], browser: str | None
) -> tuple[dict[str, bytes], list[str]]:
    """PNG per chart name where it rendered; charts that did not keep their HTML bars."""
    if not charts:
        return {}, []
    if browser is None:
        return {}, ["no Chromium found for chart images; the email shows HTML bar charts"]
    images: dict[str, bytes] = {}
    notes: list[str] = []
    try:
        with ChartImages(browser) as renderer:
            for chart in charts:
                try:
                    images[chart["name"]] = renderer.png(chart["figure"], chart["name"])
                except ChartImageError as exc:
                    notes.append(f"{exc}; the email shows it as HTML bars")
    except ChartImageError as exc:
        notes.append(f"chart images unavailable ({exc}); the email shows HTML bar charts")
    return images, notes


_MOVERS_SHOWN = 8


def _movers(report: ReportDocument) -> dict[str, Any]:
    """Month over month per service for the text part: previous, current, change and % change."""
    result = report.results.get("month_over_month_by_service")
    rows = result.rows if result is not None else []
    movers = []
    for r in rows[:_MOVERS_SHOWN]:
        if "change_usd" not in r:
            continue
        current, previous = r.get("usage_cost"), r.get("previous_usage_cost")
        change = (
            change_pct(float(current), float(previous))
            if current is not None and previous is not None
            else None
        )
        movers.append(
            {
                "service": str(r.get("service_name") or r.get("service_code") or ""),
                "previous": money(previous, report.currency),
                "current": money(current, report.currency),
                "change": money(r.get("change_usd"), report.currency),
                "pct": signed_pct(change),
            }
        )
    period = ""
    if rows and rows[0].get("billing_period") and rows[0].get("previous_period"):
        period = f"{str(rows[0]['previous_period'])[:7]} to {str(rows[0]['billing_period'])[:7]}"
    return {"movers": movers, "movers_period": period}


def _month_to_date(report: ReportDocument) -> list[dict[str, str]]:
    """The month-to-date rows (this month so far, the same days before, the run rate), formatted."""
    result = report.results.get("month_to_date")
    rows = []
    for r in result.rows if result is not None else []:
        rows.append(
            {
                "label": str(r.get("period", "")),
                "days": f"{str(r.get('first_day', ''))[:10]} to {str(r.get('last_day', ''))[:10]}",
                "usage": money(r.get("usage_cost"), report.currency),
                "net": money(r.get("unblended_cost"), report.currency),
                "change": signed_pct(r.get("change_pct"))
                if r.get("change_pct") is not None
                else "",
            }
        )
    return rows


def _context(
    report: ReportDocument,
    charts: list[dict[str, Any]],
    cids: dict[str, str],
    *,
    attached: bool,
    report_url: str | None,
    served_url: str | None = None,
    chat: list[ChatTurnRecord] | None = None,
) -> dict[str, Any]:
    anomalies = [f for f in report.findings if f.query == ANOMALY_QUERY]
    findings = sorted(
        (f for f in report.findings if f.query != ANOMALY_QUERY),
        key=lambda f: -f.monthly_savings_usd,
    )
    failed = [q for q in report.queries.values() if q.status == "failed"]
    window = _window(report)
    return {
        "r": report,
        "m": report.metrics,
        "period": period_label(window.start, window.end),
        "anomalies": anomalies,
        **_movers(report),
        "month_to_date": _month_to_date(report),
        "findings": findings[:10],
        "more_findings": max(0, len(findings) - 10),
        "failed": failed,
        "charts": [{**c, "cid": cids.get(c["name"])} for c in charts],
        "attached": attached,
        "report_url": report_url,
        "served_url": served_url,
        "chat": chat or [],
        "markdown": report.insights.markdown,
    }


def _build(
    report: ReportDocument,
    charts: list[dict[str, Any]],
    images: dict[str, bytes],
    *,
    sender: str,
    recipients: list[str],
    report_html: bytes | None,
    report_url: str | None,
    served_url: str | None = None,
    chat: list[ChatTurnRecord] | None = None,
) -> EmailMessage:
    env = environment()
    cids = {name: make_msgid(domain="finops-agent") for name in images}
    context = _context(
        report,
        charts,
        {name: cid[1:-1] for name, cid in cids.items()},
        attached=report_html is not None,
        report_url=report_url,
        served_url=served_url,
        chat=chat,
    )
    html = _INLINER.inline(env.get_template("email.html.j2").render(**context))
    text = env.get_template("email.txt.j2").render(**context)
    message = EmailMessage()
    message["Subject"] = subject_line(report)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "finops-agent")
    message["X-Finops-Report-Id"] = check_header("report id", report.report_id)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)  # the default policy builds EmailMessage parts
    for name, cid in cids.items():
        html_part.add_related(
            images[name], "image", "png", cid=cid, filename=f"{name}.png", disposition="inline"
        )
    if report_html is not None:
        message.add_attachment(
            report_html,
            maintype="text",
            subtype="html",
            filename=f"aws-cost-report-{report.report_id}.html",
        )
    return message


def compose_email(
    report_dir: Path,
    *,
    sender: str,
    recipients: list[str],
    max_bytes: int,
    charts_limit: int = 4,
    with_images: bool = True,
    chromium: str | None = None,
    report_url: str | None = None,
    served_url: str | None = None,
    chat: list[ChatTurnRecord] | None = None,
    attach: bool = False,
) -> ComposedEmail:
    """The report email, kept under max_bytes: the report linked (attached only when `attach`
    and it fits), PNG charts, else HTML bars instead of PNGs."""
    sender = check_address(sender, what="sender")
    report, all_charts = load_report(report_dir)
    charts = key_charts(all_charts, charts_limit)
    browser = find_chromium(chromium) if with_images else None
    images, warnings = render_images(charts, browser) if with_images else ({}, [])
    report_html = (report_dir / REPORT_HTML).read_bytes()
    # try the richest message first, then drop what pushes it over the limit
    attempts: list[tuple[bytes | None, dict[str, bytes]]] = [(None, images), (None, {})]
    if attach:
        attempts.insert(0, (report_html, images))
    for attachment, pngs in attempts:
        message = _build(
            report,
            charts,
            pngs,
            sender=sender,
            recipients=recipients,
            report_html=attachment,
            report_url=report_url if attachment is None else None,
            served_url=served_url,
            chat=chat,
        )
        size = len(message.as_bytes())
        if size <= max_bytes:
            break
    notes = list(warnings)
    if attachment is None and attach:
        where = "linked" if report_url else f"kept at {report_dir / REPORT_HTML}"
        notes.append(
            f"report.html ({len(report_html):,} bytes) not attached: over the {max_bytes:,}-byte "
            f"email limit; {where}"
        )
    if images and not pngs:
        notes.append("chart images dropped to stay under the email size limit")
    if size > max_bytes:
        notes.append(
            f"email is {size:,} bytes, over the {max_bytes:,}-byte limit even without images"
        )
    return ComposedEmail(
        message=message,
        size_bytes=size,
        images=len(pngs),
        attached=attachment is not None,
        linked=attachment is None and report_url is not None,
        warnings=notes,
    )
