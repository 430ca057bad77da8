"""finops-report: run the stored queries, summarise, ask for insights, log, render, publish."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from finops_agent.catalog import QuerySpec
from finops_agent.comparison import (
    MONTH_OVER_MONTH,
    apply_month_over_month,
    apply_previous_period,
    month_over_month,
    previous_period_totals,
)
from finops_agent.delivery.base import DeliveryResult
from finops_agent.delivery.report_mail import email_report, resend_pending
from finops_agent.engines.base import QueryEngine
from finops_agent.execution import QueryResult, run_query
from finops_agent.orchestration.alerts import alert_on_failure
from finops_agent.orchestration.artifacts import publish_report_artifacts
from finops_agent.orchestration.caching import source_fingerprint, task_cache_key
from finops_agent.orchestration.period import Period, resolve_window, run_name, tag_key_aliases
from finops_agent.orchestration.retry_policy import (
    QueryFailedError,
    batch_deadline,
    failed_result,
    retry_if_transient,
)
from finops_agent.pipeline import (
    PreparedRun,
    generate_insights,
    insight_interaction,
    log_interaction,
    notify_query_done,
    open_store,
    prepare_run,
    render_report,
    summarise_run,
)
from finops_agent.settings import Settings, load_settings
from finops_agent.wiring import build_insights

Family = Literal["architecture", "tagging", "cost"]
# Prefect validates parameters with a pydantic model whose base class has a `schema` attribute;
# the public `schema` parameter stays, so its harmless shadowing warning is silenced here only.
warnings.filterwarnings(
    "ignore", message='Field name "schema" in "Finops_ReportModel"', category=UserWarning
)
# Queries are I/O-bound on Athena and release the GIL on DuckDB: threads run them side by side.
_QUERY_WORKERS = 8


@task(name="email-report", cache_policy=NO_CACHE)
def send_report_email(
    settings: Settings, report_dir: Path, recipients: list[str], report_url: str | None = None
) -> DeliveryResult:
    """Email the finished report; a failure comes back as warnings, never as an exception."""
    return email_report(settings, report_dir, recipients, report_url=report_url)


@task(name="resend-pending-emails", cache_policy=NO_CACHE)
def resend_pending_emails(settings: Settings) -> list[str]:
    """Send report emails that earlier runs could not; a failure comes back as a line, never raised."""
    try:
        return resend_pending(settings)
    except Exception as exc:  # the outbox must never cost this run's report
        return [f"pending report emails not retried: {exc}"]


@task(name="publish-report", retries=2, retry_delay_seconds=[2, 5], cache_policy=NO_CACHE)
def publish_report(settings: Settings, report_dir: Path) -> str:
    """Upload the report folder to S3 and return a presigned link to report.html."""
    from finops_agent.aws.s3 import upload_report

    return upload_report(report_dir, settings)


@task(
    name="run-query",
    task_run_name="query-{spec.name}",
    retries=2,
    retry_delay_seconds=[2, 5],
    retry_condition_fn=retry_if_transient,
    cache_key_fn=task_cache_key,
    persist_result=True,
)
def run_stored_query(
    engine: QueryEngine, spec: QuerySpec, params: dict[str, Any], fingerprint: str
) -> QueryResult:
    """Run one stored query; a failure raises so it is retried when transient and never cached."""
    result = run_query(engine, spec, params)
    if not result.ok:
        raise QueryFailedError(result, transient=result.transient)
    return result


def _run_queries(
    run: PreparedRun, settings: Settings, fingerprint: str, refresh_cache: bool
) -> list[QueryResult]:
    """Submit every query at once; collect results in catalog order, failures as failed results."""
    query_task = run_stored_query.with_options(
        cache_expiration=dt.timedelta(hours=settings.query_cache_hours),
        refresh_cache=refresh_cache or settings.query_cache_hours == 0,
    )
    futures: dict[PrefectFuture[QueryResult], QuerySpec] = {
        query_task.submit(run.engine, spec, run.params, fingerprint): spec for spec in run.specs
    }
    by_name: dict[str, QueryResult] = {}
    deadline, deadline_from = batch_deadline(settings, len(futures), _QUERY_WORKERS)
    try:
        # a deadline on the batch, not a task timeout: Prefect cannot interrupt a worker thread
        for future in as_completed(list(futures), timeout=deadline):
            spec = futures[future]
            outcome = future.result(raise_on_failure=False)
            if isinstance(outcome, BaseException):
                # its frames hold the engine: drop them so a failed query cannot keep the
                # connection alive after close() (Prefect keeps the exception on the state)
                outcome.__traceback__ = None
            result = (
                outcome
                if isinstance(outcome, QueryResult)
                else failed_result(spec, run.params, outcome)
            )
            by_name[spec.name] = result
            notify_query_done(result)
    except TimeoutError:
        late = TimeoutError(f"no result within {deadline_from}")
        for spec in run.specs:
            if spec.name not in by_name:
                by_name[spec.name] = failed_result(spec, run.params, late)
                notify_query_done(by_name[spec.name])
    return [by_name[spec.name] for spec in run.specs]


def _run_name() -> str:
    return run_name(flow_run.parameters)


@flow(
    name="finops-report",
    flow_run_name=_run_name,
    log_prints=True,
    # Prefect annotates task_runner with an invariant generic its own ThreadPoolTaskRunner misses
    task_runner=ThreadPoolTaskRunner(max_workers=_QUERY_WORKERS),  # type: ignore[arg-type]
    on_failure=[alert_on_failure],
)
def finops_report(
    source: str | None = None,
    schema: Literal["auto", "cur", "cur2", "focus"] = "auto",
    families: list[Family] | None = None,
    start: str | None = None,
    end: str | None = None,
    output_dir: str | None = None,
    engine: Literal["duckdb", "athena"] | None = None,
    period: Period = "default",
    tag_keys: list[str] | None = None,
    recipients: list[str] | None = None,
    insights: Literal["rules", "bedrock"] | None = None,
    model: str | None = None,
    refresh_cache: bool = False,
) -> str:
    """Build one cost report for the billing window and return the path of its report.html.

    Args:
        source: Billing file, folder or glob for DuckDB (default: FINOPS_SOURCE).
        schema: Billing export schema; auto detects legacy CUR, CUR 2.0 or FOCUS.
        families: Query families to run (default: all of architecture, tagging, cost).
        start: First day YYYY-MM-DD; overrides the start of `period`.
        end: Day after the last day YYYY-MM-DD; overrides the end of `period`.
        output_dir: Folder the report is written under (default: FINOPS_OUTPUT_DIR).
        engine: duckdb over local files or athena over the CUR table (default: FINOPS_ENGINE).
        period: Relative window: default is last full month plus month to date.
        tag_keys: Logical tag keys that matter, e.g. owner, project (default: settings).
        recipients: Email the report to these addresses; failure alerts go here too (else FINOPS_MAIL_TO).
        insights: rules (offline) or bedrock (default: FINOPS_INSIGHTS).
        model: Bedrock model or inference profile id (default: FINOPS_BEDROCK_MODEL_ID).
        refresh_cache: Run every query again even if a cached result is still fresh.
    """
    settings = load_settings(
        output_dir=output_dir,
        engine=engine,
        insights=insights,
        bedrock_model_id=model,
        mail_to=recipients,
        tag_keys=tag_key_aliases(tag_keys),
    )
    window = resolve_window(period, start, end)
    run = prepare_run(
        settings,
        source=source,
        schema=schema,
        families=list(families or []) or None,
        start=window.start.isoformat(),
        end=window.end.isoformat(),
    )
    fingerprint = source_fingerprint(
        settings, source, schema=run.schema, window=run.window, tag_keys=settings.tag_keys
    )
    try:
        results = _run_queries(run, settings, fingerprint, refresh_cache)
        previous = previous_period_totals(run.engine, run.schema, run.window, settings.tag_keys)  # type: ignore[arg-type]
        mom_spec = next((s for s in run.specs if s.name == MONTH_OVER_MONTH), None)
        mom = (
            month_over_month(run.engine, run.schema, run.window, settings.tag_keys, mom_spec)  # type: ignore[arg-type]
            if mom_spec is not None
            else None
        )
    finally:
        run.engine.close()
    summary = summarise_run(run, results)
    comparison_warning = apply_previous_period(summary, previous)
    if mom is not None and mom_spec is not None:
        apply_month_over_month(summary, mom, mom_spec, settings.top_n)
    found = generate_insights(build_insights(settings), summary)
    store, store_warning = open_store(settings)
    log_warning = log_interaction(store, insight_interaction(summary, found))
    found.warnings.extend(w for w in (comparison_warning, store_warning, log_warning) if w)
    path = render_report(run, summary, found)
    report_url = None
    if settings.s3_report_bucket:
        try:
            report_url = publish_report(settings, path.parent)
            print(f"report published: {report_url}")
        except Exception as exc:  # the local report stands; the upload failure is said
            found.warnings.append(f"report not uploaded to s3://{settings.s3_report_bucket}: {exc}")
    # emails earlier runs could not send go first, so this run's failure is not retried at once
    for note in resend_pending_emails(settings):
        print(note)
    # only an explicit recipient list emails the report: the CLI sends its own (--email), and
    # served deployments carry FINOPS_MAIL_TO as this parameter, visible in the UI
    if recipients:
        delivery = send_report_email(settings, path.parent, recipients, report_url)
        if delivery.sent:
            print(f"emailed the report to {', '.join(delivery.recipients)} via {delivery.mailer}")
        found.warnings.extend(delivery.warnings)
    for warning in publish_report_artifacts(summary, found, path):
        print(warning)
    return str(path)
