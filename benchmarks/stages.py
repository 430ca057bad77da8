"""One measured run in a fresh process (so peak RSS is its own): the report, the lower bound, or pandas.

Usage: python benchmarks/stages.py {report,duckdb,pandas} SOURCE START END  -> one JSON line on stdout.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Clock:
    """Wall time per named stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stages: dict[str, float] = {}
        self._last = self.started

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stages[name] = now - self._last
        self._last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


def report(source: str, start: str, end: str) -> dict[str, Any]:
    """The report flow's steps without Prefect, in its order, each stage timed."""
    from finops_agent.comparison import apply_previous_period, previous_period_totals
    from finops_agent.execution import run_query
    from finops_agent.insights.generate import generate_insights
    from finops_agent.insights.query_rules import RuleInsights
    from finops_agent.pipeline import insight_interaction, prepare_run, render_report, summarise_run
    from finops_agent.settings import load_settings
    from finops_agent.store.recording import log_interaction, open_store

    scratch = Path(tempfile.mkdtemp(prefix="finops-bench-"))
    clock = _Clock()
    settings = load_settings(output_dir=scratch / "reports", home=scratch / "home")
    run = prepare_run(settings, source=source, start=start, end=end)
    clock.lap("source and cost table")
    results = []
    for spec in run.specs:
        results.append(run_query(run.engine, spec, run.params))
        clock.lap(f"query:{spec.name}")
    previous = previous_period_totals(run.engine, run.schema, run.window, settings.tag_keys)  # type: ignore[arg-type]
    run.engine.close()
    clock.lap("previous period")
    summary = summarise_run(run, results)
    apply_previous_period(summary, previous)
    clock.lap("summaries")
    insights = generate_insights(RuleInsights(), summary)
    store, _ = open_store(settings)
    log_interaction(store, insight_interaction(summary, insights))
    clock.lap("insights and log")
    render_report(run, summary, insights)
    clock.lap("render")
    failed = [r.name for r in [*results, previous] if not r.ok]
    return {
        "total_s": clock.total,
        "stages": clock.stages,
        "failed": failed,
        "queries": len(results) + 1,
        "rows": summary.metrics.rows,
        "peak_rss_mb": _peak_rss_mb(),
    }


def lower_bound(source: str, start: str, end: str) -> dict[str, Any]:
    """Bare DuckDB running the report's statements back to back: no pipeline code in between.

    The same SQL the engine runs (the cost table built as the engine builds it, then every
    stored query and the previous-period totals, transpiled once up front), on a connection
    with the engine's settings; results are fetched and dropped.
    """
    from finops_agent.catalog import load_catalog
    from finops_agent.comparison import previous_totals_sql
    from finops_agent.engines.duckdb import DuckDBEngine, cost_table_statements
    from finops_agent.engines.sql import to_duckdb, used_params
    from finops_agent.settings import DEFAULT_TAG_ALIASES
    from finops_agent.sources import cost_sql, detect_schema
    from finops_agent.window import Window

    # the engine only opens the files and creates the raw view (a describe, no scan)
    engine = DuckDBEngine(source)
    window = Window.parse(start, end)
    columns = engine.source_columns()
    schema = detect_schema(list(columns))
    cost = cost_sql(schema, engine.source_relation(), columns, window, DEFAULT_TAG_ALIASES)
    statements = cost_table_statements(cost.sql, cost.params)
    built = len(statements)
    window_params = {"start_date": window.start, "end_date": window.end}
    for spec in load_catalog().queries.values():
        sql, names = to_duckdb(spec.sql)
        params = {**window_params, **spec.bind()}
        statements.append((sql, used_params(names, params, query=spec.name)))
    before = window.previous()
    previous = cost_sql(schema, engine.source_relation(), columns, before, DEFAULT_TAG_ALIASES)
    sql, names = to_duckdb(previous_totals_sql(previous.sql))
    statements.append((sql, used_params(names, previous.params, query="previous")))
    started = time.perf_counter()
    for sql, params in statements:
        engine.raw_sql(sql, params)
    total = time.perf_counter() - started
    engine.close()
    return {"total_s": total, "queries": len(statements) - built, "peak_rss_mb": _peak_rss_mb()}


def naive_pandas(source: str, start: str, end: str) -> dict[str, Any]:
    """The notebook approach: read the window into pandas and compute every report aggregate."""
    from finops_agent.catalog import load_catalog
    from finops_agent.settings import DEFAULT_TAG_ALIASES
    from finops_agent.window import Window
    from pandas_frame import load_totals_window, load_window
    from pandas_queries import QUERIES, previous_period_totals

    catalog = load_catalog().queries
    window = Window.parse(start, end)
    clock = _Clock()
    frame = load_window(source, window.start, window.end, DEFAULT_TAG_ALIASES)
    rows = len(frame)
    clock.lap("read and canonical columns")
    for name, query in QUERIES.items():
        query(frame, {**catalog[name].bind(), "start_date": window.start, "end_date": window.end})
        clock.lap(f"query:{name}")
    del frame
    previous = window.previous()
    before = load_totals_window(source, previous.start, previous.end)
    previous_period_totals(before, {})
    clock.lap("previous period")
    return {
        "total_s": clock.total,
        "stages": clock.stages,
        "queries": len(QUERIES) + 1,
        "rows": rows,
        "peak_rss_mb": _peak_rss_mb(),
    }


if __name__ == "__main__":
    kind, source, start, end = sys.argv[1:5]
    runner = {"report": report, "duckdb": lower_bound, "pandas": naive_pandas}[kind]
    print(json.dumps(runner(source, start, end)))
