"""One measured run in a fresh process (so peak RSS is its own): the report, the lower bound, or pandas.

Usage: python benchmarks/stages.py {report,duckdb,pandas} SOURCE START END  -> one JSON line on stdout.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(source: str, start: str, end: str) -> dict[str, Any]:
    """The full report through the pipeline steps, each stage timed."""
    import tempfile

    from finops_agent.execution import run_query
    from finops_agent.insights.rules import RuleInsights
    from finops_agent.pipeline import generate_insights, prepare_run, render_report, summarise_run
    from finops_agent.settings import load_settings

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    settings = load_settings(output_dir=Path(tempfile.mkdtemp()))
    run = prepare_run(settings, source=source, start=start, end=end)
    stages["load_and_bind_cost"] = time.perf_counter() - t0
    results = []
    for spec in run.specs:
        t = time.perf_counter()
        results.append(run_query(run.engine, spec, run.params))
        stages[f"query:{spec.name}"] = time.perf_counter() - t
    failed = [r.name for r in results if not r.ok]
    t = time.perf_counter()
    summary = summarise_run(run, results)
    stages["summaries"] = time.perf_counter() - t
    t = time.perf_counter()
    insights = generate_insights(RuleInsights(), summary)
    stages["insights"] = time.perf_counter() - t
    t = time.perf_counter()
    render_report(run, summary, insights)
    stages["render"] = time.perf_counter() - t
    run.engine.close()
    return {
        "total_s": time.perf_counter() - t0,
        "stages": stages,
        "failed": failed,
        "rows": summary.metrics.rows,
        "peak_rss_mb": _peak_rss_mb(),
    }


def lower_bound(source: str, start: str, end: str) -> dict[str, Any]:
    """Bare DuckDB running the same transpiled SQL (cost CTE inlined) back to back."""
    import duckdb

    from finops_agent.catalog import load_catalog
    from finops_agent.engines.duckdb import DuckDBEngine
    from finops_agent.engines.sql import to_duckdb, used_params, with_cost
    from finops_agent.settings import DEFAULT_TAG_ALIASES
    from finops_agent.sources import cost_sql, detect_schema
    from finops_agent.window import Window

    engine = DuckDBEngine(
        source
    )  # only to reuse its view over the files and the normalised columns
    window = Window.parse(start, end)
    columns = engine.source_columns()
    cost = cost_sql(
        detect_schema(list(columns)), engine.source_relation(), columns, window, DEFAULT_TAG_ALIASES
    )
    statements = []
    for spec in load_catalog().queries.values():
        duck, names = to_duckdb(with_cost(cost.sql, spec.sql))
        statements.append(
            (duck, used_params(names, {**cost.params, **spec.bind()}, query=spec.name))
        )
    con: duckdb.DuckDBPyConnection = engine._con  # the same connection settings as the engine
    t0 = time.perf_counter()
    for duck, params in statements:
        con.execute(duck, params).fetchall()
    return {
        "total_s": time.perf_counter() - t0,
        "queries": len(statements),
        "peak_rss_mb": _peak_rss_mb(),
    }


def naive_pandas(source: str, start: str, end: str) -> dict[str, Any]:
    """What a notebook would do: read every file into pandas, then group by."""
    import pandas as pd

    t0 = time.perf_counter()
    files = sorted(Path(source).rglob("*.parquet"))
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    frame = frame[
        (frame["line_item_usage_start_date"] >= start_ts)
        & (frame["line_item_usage_start_date"] < end_ts)
    ]
    frame["usage_date"] = frame["line_item_usage_start_date"].dt.date
    frame.groupby(["usage_date", "line_item_product_code"])["line_item_unblended_cost"].sum()
    frame.groupby(["bill_billing_period_start_date", "line_item_usage_account_id"])[
        "line_item_unblended_cost"
    ].sum()
    gp2 = frame[frame["line_item_usage_type"].str.endswith("EBS:VolumeUsage.gp2")]
    gp2.groupby(["line_item_usage_account_id", "line_item_resource_id"])[
        "line_item_unblended_cost"
    ].sum()
    tags = frame["resource_tags"].map(lambda m: dict(m or []).get("user_owner", ""))
    frame[tags == ""].groupby("line_item_product_code")["line_item_unblended_cost"].sum()
    return {"total_s": time.perf_counter() - t0, "rows": len(frame), "peak_rss_mb": _peak_rss_mb()}


if __name__ == "__main__":
    kind, source, start, end = sys.argv[1:5]
    runner = {"report": report, "duckdb": lower_bound, "pandas": naive_pandas}[kind]
    print(json.dumps(runner(source, start, end)))
