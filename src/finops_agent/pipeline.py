"""The steps of one report run as plain functions: the Prefect flow only orders them."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from finops_agent.catalog import FAMILIES, QuerySpec, load_catalog
from finops_agent.checks import aws_backends, check_aws_credentials, check_output_folder
from finops_agent.comparison import MONTH_OVER_MONTH, comparison_extract
from finops_agent.currencies import (
    BillingSlice,
    CurrencyTotal,
    choose_currency,
    currency_totals,
    provider_totals,
    run_source_survey,
    run_survey,
)
from finops_agent.engines.base import ComparisonExtract, ExtractsWindow, QueryEngine
from finops_agent.errors import ConfigurationError, UserError
from finops_agent.execution import QueryResult
from finops_agent.insights.base import Insights
from finops_agent.reports.document import ReportKind
from finops_agent.reports.folder import new_report_id
from finops_agent.settings import Settings
from finops_agent.sources import (
    CostSql,
    Schema,
    SourceError,
    check_column_types,
    check_schema,
    cost_sql,
    detect_schema,
)
from finops_agent.store.base import Interaction
from finops_agent.summarise import ReportSummary, metrics_from_totals, summarise_query
from finops_agent.window import Window
from finops_agent.wiring import build_engine

log = logging.getLogger(__name__)
TOTALS_QUERY = "window_totals"
WATERFALL_QUERY = "bill_waterfall"
# the headline of every report, whichever families were asked for
ALWAYS_QUERIES = (TOTALS_QUERY, WATERFALL_QUERY)

_listeners: list[Callable[[QueryResult], None]] = []
_listeners_lock = threading.Lock()


@contextlib.contextmanager
def query_listener(callback: Callable[[QueryResult], None]) -> Iterator[None]:
    """Call `callback` with every query result finished while the block runs (CLI progress)."""
    with _listeners_lock:
        _listeners.append(callback)
    try:
        yield
    finally:
        with _listeners_lock:
            _listeners.remove(callback)


def notify_query_done(result: QueryResult) -> None:
    """Tell the registered listeners that a query finished."""
    with _listeners_lock:
        listeners = list(_listeners)
    for callback in listeners:
        callback(result)


class NoDataError(UserError, ValueError):
    """The billing window holds no line items."""


@dataclass
class PreparedRun:
    """A run whose engine has the canonical `cost` relation bound for the window."""

    report_id: str
    generated_at: str
    engine: QueryEngine
    schema: str
    window: Window
    families: list[str]
    specs: list[QuerySpec]
    params: dict[str, Any]
    settings: Settings
    # chat re-opens the source later, maybe from another folder: an absolute path
    source_path: str
    kind: ReportKind = "report"
    # the billing currency every figure is in; None when the run did not ask (no survey ran)
    currency: str | None = None
    # every currency in the window (the report's first) and the providers in the report's one
    currencies: list[CurrencyTotal] = field(default_factory=list)
    providers: list[CurrencyTotal] = field(default_factory=list)
    survey: QueryResult | None = None


def resolve_specs(
    families: list[str] | None, queries: list[str] | None = None
) -> tuple[list[str], list[QuerySpec]]:
    """The families and the stored queries to run; window totals and the bill always run first."""
    catalog = load_catalog()
    chosen = list(families or FAMILIES)
    specs = catalog.select(chosen, queries)
    always = [catalog.queries[n] for n in ALWAYS_QUERIES if n in catalog.queries]
    specs = [*always, *[s for s in specs if s.name not in ALWAYS_QUERIES]]
    return chosen, specs


def prepare_run(
    settings: Settings,
    *,
    source: str | None = None,
    schema: str = "auto",
    families: list[str] | None = None,
    queries: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    params: dict[str, Any] | None = None,
    engine: QueryEngine | None = None,
    kind: ReportKind = "report",
    ad_hoc_sql: bool = False,
    comparisons: bool = False,
    currency: str | None = None,
) -> PreparedRun:
    """Open the engine, detect the schema, bind the windowed `cost` relation, pick the queries.

    `kind` says what the report is for (a full report or a daily digest) in report.json.
    `ad_hoc_sql` says SQL beyond the stored queries will run (chat): an engine that copies
    the window copies every canonical column, under the chat scan cap. `comparisons` says the
    report's comparisons will run: such an engine copies what they read too (in the chosen
    currency).
    `currency` (`auto` or a code) then surveys the window's currencies and providers, and when
    there are several binds `cost` again to one currency's rows: the largest with `auto`. A
    code not billed in the window is an UnknownCurrencyError naming those present, before any
    stored query runs. None keeps every row (no survey).
    """
    window = Window.parse(start, end)
    chosen, specs = resolve_specs(families, queries)
    engine = engine or build_engine(settings, source)
    try:
        columns = engine.source_columns()
        detected: Schema
        if schema == "auto":
            detected = detect_schema(list(columns), source=engine.source_label)
        elif schema in ("cur", "cur2", "focus"):
            detected = cast(Schema, schema)
            check_schema(detected, list(columns), source=engine.source_label)
        else:
            raise SourceError(f"unknown schema {schema!r}; choose auto, cur, cur2 or focus")
        cost = cost_sql(detected, engine.source_relation(), columns, window, settings.tag_keys)
        # a table scan is billed per query on Athena; local files are read once either way
        warnings = list(cost.warnings) if engine.name == "athena" else []
        for warning in warnings:
            log.warning("%s", warning)
        if isinstance(engine, ExtractsWindow):
            if ad_hoc_sql:
                engine.plan_extract(None, max_scan_bytes=settings.chat_max_scan_bytes or None)
            else:
                engine.plan_extract([spec.sql for spec in specs])
        survey: QueryResult | None = None
        currencies: list[CurrencyTotal] = []
        providers: list[CurrencyTotal] = []
        chosen_currency: str | None = None
        if currency is not None and isinstance(engine, ExtractsWindow):
            # the window is copied once: survey the source on Athena first, copy one currency
            survey, slices = run_source_survey(engine, cost.sql, cost.params)
            currencies, chosen_currency, providers = _choose_currency(slices, currency, engine)
            if len(currencies) > 1:
                cost = _one_currency(
                    cost, detected, engine, columns, window, settings, chosen_currency
                )
            if comparisons and not ad_hoc_sql:
                engine.plan_extract(
                    [spec.sql for spec in specs],
                    comparisons=_comparison_plan(
                        detected, engine, columns, window, settings, specs, chosen, chosen_currency
                    ),
                )
            engine.bind_cost(cost.sql, cost.params)
        else:
            if isinstance(engine, ExtractsWindow) and comparisons and not ad_hoc_sql:
                engine.plan_extract(
                    [spec.sql for spec in specs],
                    comparisons=_comparison_plan(
                        detected, engine, columns, window, settings, specs, chosen, None
                    ),
                )
            engine.bind_cost(cost.sql, cost.params)
            if currency is not None:
                survey, slices = run_survey(engine)
                currencies, chosen_currency, providers = _choose_currency(slices, currency, engine)
                if len(currencies) > 1:
                    # bound again to one currency's rows: on DuckDB only a bill with several
                    # currencies pays a second materialisation, on Athena binding is free
                    cost = _one_currency(
                        cost, detected, engine, columns, window, settings, chosen_currency
                    )
                    engine.bind_cost(cost.sql, cost.params)
    except BaseException:
        engine.close()
        raise
    now = dt.datetime.now(dt.UTC)
    return PreparedRun(
        report_id=new_report_id(now),
        generated_at=now.isoformat(timespec="seconds"),
        engine=engine,
        schema=detected,
        window=window,
        families=chosen,
        specs=specs,
        params={**(params or {}), "start_date": window.start, "end_date": window.end},
        settings=settings,
        source_path=_absolute_source(engine),
        kind=kind,
        currency=chosen_currency,
        currencies=currencies,
        providers=providers,
        survey=survey,
    )


def _choose_currency(
    slices: list[BillingSlice], wanted: str, engine: QueryEngine
) -> tuple[list[CurrencyTotal], str | None, list[CurrencyTotal]]:
    """The window's currencies, the one the report covers, and that currency's providers."""
    currencies = currency_totals(slices)
    chosen = choose_currency(currencies, wanted, source=engine.source_label)
    providers = provider_totals(slices, chosen) if chosen is not None else []
    return currencies, chosen, providers


def _comparison_plan(
    schema: Schema,
    engine: QueryEngine,
    columns: dict[str, str],
    window: Window,
    settings: Settings,
    specs: list[QuerySpec],
    families: list[str],
    currency: str | None,
) -> ComparisonExtract:
    """What the report's comparisons read, for an engine that copies it with the window."""
    mom = next((s for s in specs if s.name == MONTH_OVER_MONTH), None)
    return comparison_extract(
        schema,
        engine.source_relation(),
        columns,
        window,
        settings.tag_keys,
        month_over_month_sql=mom.sql if mom is not None else None,
        with_month_to_date="cost" in families,
        currency=currency,
    )


def _one_currency(
    every: CostSql,
    schema: Schema,
    engine: QueryEngine,
    columns: dict[str, str],
    window: Window,
    settings: Settings,
    currency: str | None,
) -> CostSql:
    """The adapter for `currency`'s rows only (the window's, as `every` is)."""
    if currency is None:
        return every
    return cost_sql(
        schema, engine.source_relation(), columns, window, settings.tag_keys, currency=currency
    )


def _absolute_source(engine: QueryEngine) -> str:
    if engine.name != "duckdb":
        return engine.source_label
    return str(Path(engine.source_label).expanduser().absolute())


def preflight(
    settings: Settings,
    *,
    source: str | None = None,
    schema: str = "auto",
    families: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    recipients: str | list[str] | None = None,
) -> str:
    """Check everything cheap before any query runs or orchestration starts; return the schema.

    In order: the window, the families, the output folder, the email recipients and sender
    (when `recipients` is given), AWS credentials of every AWS backend configured, then the
    source (readable, schema detected). Each failure is a UserError naming the problem.
    """
    Window.parse(start, end)
    resolve_specs(families)
    check_output_folder(Path(settings.output_dir))
    if recipients:
        check_mail_settings(settings, recipients)
    check_aws_credentials(settings, aws_backends(settings, emailing=bool(recipients)))
    engine = build_engine(settings, source)
    try:
        types = engine.source_columns()
        columns = list(types)
        if schema == "auto":
            detected = detect_schema(columns, source=engine.source_label)
        elif schema not in ("cur", "cur2", "focus"):
            raise SourceError(f"unknown schema {schema!r}; choose auto, cur, cur2 or focus")
        else:
            detected = cast(Schema, schema)
            check_schema(detected, columns, source=engine.source_label)
        check_column_types(detected, types, source=engine.source_label)
        return detected
    finally:
        engine.close()


def check_mail_settings(
    settings: Settings, recipients: str | list[str], *, option: str = "--email"
) -> list[str]:
    """The recipients, validated, once mail can be sent: a mailer and a valid sender address."""
    from finops_agent.email_addresses import check_address, parse_recipients

    to = parse_recipients(recipients, what=f"{option} recipient")
    if not to:
        raise ConfigurationError(f"no recipients: pass {option} or set FINOPS_MAIL_TO")
    if settings.mailer == "none":
        raise ConfigurationError(
            f"{option} needs a mailer: set FINOPS_MAILER to smtp or ses "
            "(docs/settings.md, group mail)"
        )
    check_address(settings.mail_from, what="sender FINOPS_MAIL_FROM")
    return to


def summarise_run(run: PreparedRun, results: list[QueryResult]) -> ReportSummary:
    """Summaries of every result plus the metrics row; raise NoDataError for an empty window."""
    by_name = {r.name: r for r in results}
    totals = by_name.get(TOTALS_QUERY)
    metrics = metrics_from_totals(
        totals.frame if totals and totals.ok else pd.DataFrame(), run.families
    )
    if totals is not None and totals.ok and metrics.rows == 0:
        raise NoDataError(
            f"no billing line items between {run.window.start} and {run.window.end} "
            f"(end exclusive) in {run.engine.source_label}"
        )
    if run.survey is not None:
        by_name[run.survey.name] = run.survey
    specs = {s.name: s for s in run.specs}
    return ReportSummary(
        report_id=run.report_id,
        generated_at=run.generated_at,
        window=run.window,
        schema=run.schema,
        engine=run.engine.name,
        source=run.engine.source_label,
        families=run.families,
        metrics=metrics,
        queries={
            r.name: summarise_query(specs[r.name], r, run.settings.top_n, run.currency or "USD")
            for r in results
        },
        results=by_name,
        currency=run.currency or "USD",
        currencies=run.currencies,
        providers=run.providers,
    )


def insight_interaction(
    summary: ReportSummary, insights: Insights, session_id: str = ""
) -> Interaction:
    """The log record of one insight generation."""
    usage = insights.usage
    return Interaction(
        kind="insight",
        user_query=f"insights for report {summary.report_id} ({summary.metrics.analysis_type})",
        agent_response=insights.markdown,
        report_id=summary.report_id,
        session_id=session_id or summary.report_id,
        data_context={
            "window": [summary.window.start.isoformat(), summary.window.end.isoformat()],
            "schema": summary.schema,
            "queries": sorted(summary.queries),
            "findings": [f.model_dump() for f in insights.findings],
            # audit of the model's output: did it meet the contract, which figures lack data
            "structured": insights.structured,
            "ungrounded": [u.model_dump() for u in insights.ungrounded],
        },
        model=usage.model if usage else insights.provider,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        latency_ms=usage.latency_ms if usage else 0.0,
        cost_usd=usage.cost_usd if usage else 0.0,
    )


def render_report(run: PreparedRun, summary: ReportSummary, insights: Insights) -> Path:
    """Write report.html and report.json under the output folder; return the HTML path."""
    # Plotly and the templates load only when a report is written, not when chat opens a source
    from finops_agent.report.render import report_document, write_report

    document = report_document(
        summary,
        insights,
        kind=run.kind,
        tag_keys=run.settings.tag_keys,
        source_path=run.source_path,
    )
    served = run.settings.portal_url if run.settings.public_url else None
    return write_report(Path(run.settings.output_dir), summary, insights, document, served)
