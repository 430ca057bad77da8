"""finops-report: run the stored queries, summarise, ask for insights, log, render, publish."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from finops_agent.catalog import QuerySpec
from finops_agent.delivery.base import DeliveryResult
from finops_agent.engines.base import QueryEngine
from finops_agent.execution import QueryResult, batch_deadline, run_query
from finops_agent.orchestration.alerts import alert_on_failure
from finops_agent.orchestration.artifacts import publish_report_artifacts
from finops_agent.orchestration.caching import source_fingerprint, task_cache_key
from finops_agent.orchestration.retry_policy import (
    QueryFailedError,
    failed_result,
    retry_if_transient,
)
from finops_agent.period import Period, run_name
from finops_agent.pipeline import PreparedRun
from finops_agent.runs.report import (
    QUERY_WORKERS,
    RETRY_DELAYS_S,
    ReportRequest,
    ReportSteps,
    build_report,
    email_to,
    in_catalog_order,
    publish_to_s3,
    resend_pending_safely,
)
from finops_agent.settings import Settings

Family = Literal["architecture", "tagging", "cost"]
# Prefect validates parameters with a pydantic model whose base class has a `schema` attribute;
# the public `schema` parameter stays, so its harmless shadowing warning is silenced here only.
warnings.filterwarnings(
    "ignore", message='Field name "schema" in "Finops_ReportModel"', category=UserWarning
)


@task(name="email-report", cache_policy=NO_CACHE)
def send_report_email(
    settings: Settings, report_dir: Path, recipients: list[str], report_url: str | None = None
) -> DeliveryResult:
    """Email the finished report; a failure comes back as warnings, never as an exception."""
    return email_to(settings, report_dir, recipients, report_url)


@task(name="resend-pending-emails", cache_policy=NO_CACHE)
def resend_pending_emails(settings: Settings) -> list[str]:
    """Send report emails that earlier runs could not; a failure comes back as a line, never raised."""
    return resend_pending_safely(settings)


@task(name="publish-report", retries=2, retry_delay_seconds=[2, 5], cache_policy=NO_CACHE)
def publish_report(settings: Settings, report_dir: Path) -> str:
    """Upload the report folder to S3 and return a presigned link to report.html."""
    return publish_to_s3(settings, report_dir)


@task(
    name="run-query",
    task_run_name="query-{spec.name}",
    # the same policy as an in-process run: retried only when the engine says it can pass
    retries=len(RETRY_DELAYS_S),
    retry_delay_seconds=list(RETRY_DELAYS_S),
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


def _run_queries(run: PreparedRun, request: ReportRequest) -> list[QueryResult]:
    """Submit every query as a cached, retried task; collect results in catalog order."""
    settings, refresh_cache = run.settings, request.refresh_cache
    fingerprint = source_fingerprint(
        settings,
        request.source,
        schema=run.schema,
        window=run.window,
        tag_keys=settings.tag_keys,
        currency=run.currency,
    )
    query_task = run_stored_query.with_options(
        cache_expiration=dt.timedelta(hours=settings.query_cache_hours),
        refresh_cache=refresh_cache or settings.query_cache_hours == 0,
    )
    futures: dict[PrefectFuture[QueryResult], QuerySpec] = {
        query_task.submit(run.engine, spec, run.params, fingerprint): spec for spec in run.specs
    }
    deadline, deadline_from = batch_deadline(settings, len(futures), QUERY_WORKERS)

    def finished() -> Iterator[tuple[QuerySpec, QueryResult]]:
        # a deadline on the batch, not a task timeout: Prefect cannot interrupt a worker thread
        for future in as_completed(list(futures), timeout=deadline):
            spec = futures[future]
            outcome = future.result(raise_on_failure=False)
            if isinstance(outcome, BaseException):
                # its frames hold the engine: drop them so a failed query cannot keep the
                # connection alive after close() (Prefect keeps the exception on the state)
                outcome.__traceback__ = None
            if isinstance(outcome, QueryResult):
                yield spec, outcome
            else:
                yield spec, failed_result(spec, run.params, outcome)

    return in_catalog_order(run, finished(), deadline_from)


def _run_name() -> str:
    return run_name(flow_run.parameters)


@flow(
    name="finops-report",
    flow_run_name=_run_name,
    log_prints=True,
    # Prefect annotates task_runner with an invariant generic its own ThreadPoolTaskRunner misses
    task_runner=ThreadPoolTaskRunner(max_workers=QUERY_WORKERS),  # type: ignore[arg-type]
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
    kind: Literal["report", "digest"] = "report",
    currency: str | None = None,
) -> str:
    """Build one cost report for the billing window and return the path of its report.html.

    Args:
        source: Billing file, folder or glob for DuckDB (default: FINOPS_SOURCE; with neither,
            the demo's generated sample data, said in the log, the report and the artifact).
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
        kind: What the report is for, as `finops list` shows it: a full report or a daily digest.
        currency: Billing currency to report: auto (the window's largest) or a code such as
            EUR; the other currencies are named with their totals (default: FINOPS_CURRENCY).
    """
    request = ReportRequest(
        source=source,
        schema=schema,
        families=list(families or []) or None,
        start=start,
        end=end,
        output_dir=output_dir,
        engine=engine,
        period=period,
        tag_keys=tag_keys,
        recipients=recipients,
        insights=insights,
        model=model,
        refresh_cache=refresh_cache,
        kind=kind,
        demo_when_no_source=True,
        currency=currency,
    )
    steps = ReportSteps(
        run_queries=_run_queries,
        publish=publish_report,
        resend_pending=resend_pending_emails,
        send_email=send_report_email,
        announce=publish_report_artifacts,
        say=print,
    )
    return str(build_report(request, steps))
