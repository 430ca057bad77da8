"""One report run as plain functions: the CLI calls it in-process, the finops-report flow wraps it."""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from finops_agent.catalog import QuerySpec
from finops_agent.comparison import (
    MONTH_OVER_MONTH,
    apply_month_over_month,
    apply_month_to_date,
    apply_previous_period,
    month_over_month,
    month_to_date,
    previous_period_totals,
)
from finops_agent.delivery.base import DeliveryResult
from finops_agent.delivery.report_mail import email_report, resend_pending
from finops_agent.engines.base import ExtractsWindow
from finops_agent.execution import (
    QueryResult,
    batch_deadline,
    extract_query_result,
    failed_result,
    run_query,
)
from finops_agent.formatting import money
from finops_agent.insights.base import Insights
from finops_agent.insights.generate import generate_insights
from finops_agent.period import Period, resolve_window, tag_key_aliases
from finops_agent.pipeline import (
    PreparedRun,
    insight_interaction,
    notify_query_done,
    prepare_run,
    render_report,
    summarise_run,
)
from finops_agent.reports.document import ReportKind
from finops_agent.settings import Settings, load_settings
from finops_agent.store.recording import log_interaction, open_store
from finops_agent.summarise import ReportSummary
from finops_agent.wiring import build_insights

log = logging.getLogger(__name__)

# Queries are I/O-bound on Athena and release the GIL on DuckDB: threads run them side by side.
QUERY_WORKERS = 8
# The same policy as the flow's query task: retry only what the engine calls transient.
RETRY_DELAYS_S: tuple[float, ...] = (2.0, 5.0)


@dataclass
class ReportRequest:
    """What one report run was asked for: the flow's parameters, defaults from settings."""

    source: str | None = None
    schema: str = "auto"
    families: list[str] | None = None
    start: str | None = None
    end: str | None = None
    output_dir: str | None = None
    engine: str | None = None
    period: Period = "default"
    tag_keys: list[str] | None = None
    recipients: list[str] | None = None
    insights: str | None = None
    model: str | None = None
    refresh_cache: bool = False
    # a full report or a daily digest: `finops list` and the index tell them apart
    kind: ReportKind = "report"
    # served deployments: with no source anywhere and the DuckDB engine, run on the demo's data
    demo_when_no_source: bool = False
    # auto (the window's largest billing currency) or a code; None: FINOPS_CURRENCY
    currency: str | None = None

    def settings(self) -> Settings:
        """Settings with this request's overrides applied."""
        return load_settings(
            output_dir=self.output_dir,
            engine=self.engine,
            insights=self.insights,
            bedrock_model_id=self.model,
            mail_to=self.recipients,
            tag_keys=tag_key_aliases(self.tag_keys),
            currency=self.currency,
        )


def run_query_with_retries(
    run: PreparedRun, spec: QuerySpec, delays: Sequence[float] = RETRY_DELAYS_S
) -> QueryResult:
    """Run one stored query, again after each delay while the engine says another try can pass."""
    result = run_query(run.engine, spec, run.params)
    for delay in delays:
        if result.ok or not result.transient:
            break
        log.info(
            "query %s failed transiently, retrying in %g s: %s", spec.name, delay, result.error
        )
        time.sleep(delay)
        result = run_query(run.engine, spec, run.params)
    return result


def run_queries_in_process(run: PreparedRun, request: ReportRequest) -> list[QueryResult]:
    """Every stored query on a thread pool, in catalog order; late or crashed ones come back failed."""
    deadline, deadline_from = batch_deadline(run.settings, len(run.specs), QUERY_WORKERS)
    pool = concurrent.futures.ThreadPoolExecutor(QUERY_WORKERS, thread_name_prefix="finops-query")
    futures = {pool.submit(run_query_with_retries, run, spec): spec for spec in run.specs}

    def finished() -> Iterator[tuple[QuerySpec, QueryResult]]:
        for future in concurrent.futures.as_completed(futures, timeout=deadline):
            spec = futures[future]
            try:
                yield spec, future.result()
            except Exception as exc:  # a crash in one query fails its section, not the report
                yield spec, failed_result(spec, run.params, exc)

    try:
        return in_catalog_order(run, finished(), deadline_from)
    finally:
        # queries still running finish in the background; the engine is closed by the caller
        pool.shutdown(wait=False, cancel_futures=True)


def in_catalog_order(
    run: PreparedRun, finished: Iterator[tuple[QuerySpec, QueryResult]], deadline_from: str
) -> list[QueryResult]:
    """Results as they finish, told to the listeners, returned in catalog order.

    `finished` raises TimeoutError at the batch deadline: every query without a result by then
    comes back failed, naming `deadline_from`.
    """
    by_name: dict[str, QueryResult] = {}
    try:
        for spec, result in finished:
            by_name[spec.name] = result
            notify_query_done(result)
    except TimeoutError:
        late = TimeoutError(f"no result within {deadline_from}")
        for spec in run.specs:
            if spec.name not in by_name:
                by_name[spec.name] = failed_result(spec, run.params, late)
                notify_query_done(by_name[spec.name])
    return [by_name[spec.name] for spec in run.specs]


def publish_to_s3(settings: Settings, report_dir: Path) -> str:
    """Upload the report folder to S3 and return a presigned link to report.html."""
    from finops_agent.aws.s3 import upload_report

    return upload_report(report_dir, settings)


def resend_pending_safely(settings: Settings) -> list[str]:
    """Send emails earlier runs could not; a failure comes back as a line, never raised."""
    try:
        return resend_pending(settings)
    except Exception as exc:  # the outbox must never cost this run's report
        return [f"pending report emails not retried: {exc}"]


def email_to(
    settings: Settings, report_dir: Path, recipients: list[str], report_url: str | None
) -> DeliveryResult:
    """Email the finished report; a failure comes back as warnings, never as an exception."""
    return email_report(settings, report_dir, recipients, report_url=report_url)


def _no_announcement(summary: ReportSummary, insights: Insights, report: Path) -> list[str]:
    return []


@dataclass
class ReportSteps:
    """The I/O steps of a run; the flow swaps in Prefect tasks so they show in the UI."""

    run_queries: Callable[[PreparedRun, ReportRequest], list[QueryResult]] = run_queries_in_process
    publish: Callable[[Settings, Path], str] = publish_to_s3
    resend_pending: Callable[[Settings], list[str]] = resend_pending_safely
    send_email: Callable[[Settings, Path, list[str], str | None], DeliveryResult] = email_to
    announce: Callable[[ReportSummary, Insights, Path], list[str]] = _no_announcement
    say: Callable[[str], None] = log.info


def _demo_source(settings: Settings, steps: ReportSteps) -> tuple[str | None, str | None]:
    """The demo's data when nothing names a source; the notice every output of the run carries."""
    if settings.engine != "duckdb":
        return None, None
    from finops_agent.sample_data.demo import demo_source

    data, generated = demo_source(settings)
    notice = (
        f"No billing source is configured (FINOPS_SOURCE or the source parameter), so this "
        f"report runs on generated demo data in {data}, not on your bill."
    )
    steps.say(notice + (" The demo data was generated for this run." if generated else ""))
    return str(data), notice


def build_report(request: ReportRequest, steps: ReportSteps | None = None) -> Path:
    """Build one cost report for the request's window and return the path of its report.html."""
    steps = steps or ReportSteps()
    settings = request.settings()
    source, demo_notice = request.source, None
    if request.demo_when_no_source and not source and not settings.source:
        source, demo_notice = _demo_source(settings, steps)
    window = resolve_window(request.period, request.start, request.end)
    run = prepare_run(
        settings,
        source=source,
        schema=request.schema,
        families=list(request.families or []) or None,
        start=window.start.isoformat(),
        end=window.end.isoformat(),
        kind=request.kind,
        comparisons=True,
        currency=settings.currency,
    )
    for other in run.currencies:
        if other.name != run.currency:
            steps.say(
                f"also billed in {other.name}: {money(other.unblended_cost, other.name)} over "
                f"{other.rows:,} line items, not in this report (finops report --currency {other.name})"
            )
    # month over month reads the two complete months on its own, wherever the window ends:
    # running it over the window too would scan (and bill) the source once more for nothing
    mom_spec = next((s for s in run.specs if s.name == MONTH_OVER_MONTH), None)
    run.specs = [s for s in run.specs if s.name != MONTH_OVER_MONTH]
    try:
        results = steps.run_queries(run, request)
        previous = previous_period_totals(
            run.engine,
            run.schema,  # type: ignore[arg-type]
            run.window,
            settings.tag_keys,
            currency=run.currency,
        )
        mom = (
            month_over_month(
                run.engine,
                run.schema,  # type: ignore[arg-type]
                run.window,
                settings.tag_keys,
                mom_spec,
                currency=run.currency,
            )
            if mom_spec is not None
            else None
        )
        mtd = (
            month_to_date(
                run.engine,
                run.schema,  # type: ignore[arg-type]
                run.window,
                settings.tag_keys,
                currency=run.currency,
            )
            if "cost" in run.families
            else None
        )
    finally:
        run.engine.close()
    extracts = run.engine.extract_results() if isinstance(run.engine, ExtractsWindow) else {}
    failed = [r.name for r in results if not r.ok]
    steps.say(
        f"{len(results) - len(failed)} of {len(results)} stored queries ok"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    summary = summarise_run(run, results)
    steps.say(
        f"{summary.metrics.rows:,} line items from {run.window.start} to {run.window.end} "
        f"(end exclusive), net cost {money(summary.metrics.unblended_cost, summary.currency)}"
    )
    for name, extract in extracts.items():
        # the statements that scanned the source join the appendix with their scan and download
        summary.results[name] = extract_query_result(name, extract)
    comparison_warning = apply_previous_period(summary, previous)
    if mom is not None and mom_spec is not None:
        apply_month_over_month(summary, mom, mom_spec, settings.top_n)
    if mtd is not None:
        apply_month_to_date(summary, mtd, settings.top_n)
    found = generate_insights(build_insights(settings), summary)
    store, store_warning = open_store(settings)
    log_warning = log_interaction(store, insight_interaction(summary, found))
    found.warnings.extend(w for w in (comparison_warning, store_warning, log_warning) if w)
    if demo_notice:
        found.warnings.insert(0, demo_notice)
    path = render_report(run, summary, found)
    report_url = None
    if settings.s3_report_bucket:
        try:
            report_url = steps.publish(settings, path.parent)
            steps.say(f"report published: {report_url}")
        except Exception as exc:  # the local report stands; the upload failure is said
            found.warnings.append(f"report not uploaded to s3://{settings.s3_report_bucket}: {exc}")
    # emails earlier runs could not send go first, so this run's failure is not retried at once
    for note in steps.resend_pending(settings):
        steps.say(note)
    # only an explicit recipient list emails the report: the CLI sends its own (--email), and
    # served deployments carry FINOPS_MAIL_TO as this parameter, visible in the UI
    if request.recipients:
        delivery = steps.send_email(settings, path.parent, request.recipients, report_url)
        if delivery.sent:
            steps.say(
                f"emailed the report to {', '.join(delivery.recipients)} via {delivery.mailer}"
            )
        found.warnings.extend(delivery.warnings)
    for warning in steps.announce(summary, found, path):
        steps.say(warning)
    served = settings.served_report_url(summary.report_id)
    steps.say(
        f"report written: {report_url or path}" + (f"; open it at {served}" if served else "")
    )
    return path
