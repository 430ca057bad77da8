"""finops-report: run the stored queries, summarise, ask for insights, log, render."""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from finops_agent.catalog import QuerySpec
from finops_agent.engines.base import QueryEngine
from finops_agent.execution import QueryResult, run_query
from finops_agent.pipeline import (
    generate_insights,
    insight_interaction,
    log_interaction,
    notify_query_done,
    open_store,
    prepare_run,
    render_report,
    summarise_run,
)
from finops_agent.settings import load_settings
from finops_agent.wiring import build_insights

Family = Literal["architecture", "tagging", "cost"]


@task(
    name="run-query",
    task_run_name="query-{spec.name}",
    retries=2,
    retry_delay_seconds=[2, 5],
    cache_policy=NO_CACHE,
)
def run_stored_query(engine: QueryEngine, spec: QuerySpec, params: dict[str, Any]) -> QueryResult:
    """Run one stored query; a failed query comes back as a failed result."""
    result = run_query(engine, spec, params)
    notify_query_done(result)
    return result


@flow(name="finops-report", log_prints=True)
def finops_report(
    source: str | None = None,
    schema: Literal["auto", "cur", "cur2", "focus"] = "auto",
    families: list[Family] | None = None,
    start: str | None = None,
    end: str | None = None,
    output_dir: str | None = None,
    engine: Literal["duckdb", "athena"] | None = None,
) -> str:
    """Build one cost report for the billing window and return the path of its report.html."""
    settings = load_settings(output_dir=output_dir, engine=engine)
    run = prepare_run(
        settings,
        source=source,
        schema=schema,
        families=list(families or []) or None,
        start=start,
        end=end,
    )
    try:
        futures = [run_stored_query.submit(run.engine, spec, run.params) for spec in run.specs]
        results = [future.result() for future in futures]
    finally:
        run.engine.close()
    summary = summarise_run(run, results)
    insights = generate_insights(build_insights(settings), summary)
    store, store_warning = open_store(settings)
    log_warning = log_interaction(store, insight_interaction(summary, insights))
    insights.warnings.extend(w for w in (store_warning, log_warning) if w)
    return str(render_report(run, summary, insights))
