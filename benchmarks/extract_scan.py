"""Extract mode's Athena scan, estimated offline with `athena_scan`'s estimator.

A report in extract mode sends two statements: the UNLOAD of the window's canonical columns
the stored queries and comparisons read, and the UNLOAD of the days before the window that
the comparisons (previous period, complete months, month to date) read, their columns only.
Both are built by the engine's own functions (`unload_statement`, `comparison_extract`) and
estimated like per-query mode's statements: compressed column chunks of the partitions and
row groups each keeps. "One pass" is `athena_scan`'s: the window's needed columns, once.

    python benchmarks/extract_scan.py [--schema cur2] [--rows 300000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.athena_scan import (
    _DATABASE,
    _TABLE,
    _USAGE_START,
    Statement,
    estimate,
    one_pass_bytes,
    report_statements,
    table_types,
    window_chunks,
)

from finops_agent.catalog import FAMILIES, load_catalog
from finops_agent.comparison import MONTH_OVER_MONTH, comparison_extract
from finops_agent.engines.athena_extract import run_unloads
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import Schema, cost_sql, detect_schema
from finops_agent.window import Window

_RELATION = f'"{_DATABASE}"."{_TABLE}"'
_LOCATION = "s3://results/finops-extract/run/"
_OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
# the daily digest: the cost family over the last 30 days, run on 1 November
_DIGEST = Window(dt.date(2026, 10, 2), dt.date(2026, 11, 1))


@dataclass(frozen=True)
class ExtractScan:
    """One report kind's extract-mode scan against per-query mode's and one pass."""

    label: str
    per_query: int
    window_unload: int
    comparisons_unload: int
    one_pass: int


def measure(root: Path, label: str, window: Window, families: list[str]) -> ExtractScan:
    """Per-query total, both UNLOADs' bytes and one pass for a report of `families` over `window`."""
    types = table_types(root)
    schema: Schema = detect_schema(list(types))
    usage_start = _USAGE_START[schema]
    specs = load_catalog().select(families, None)
    names = {s.name for s in specs}
    # per-query mode: the selected stored queries and the comparisons the report runs
    comparisons = {"previous_period_totals", f"{MONTH_OVER_MONTH} (complete months)"}
    if "cost" in families:
        comparisons.add("month_to_date")
    sent = [
        s
        for s in report_statements(root, window)
        if (s.name in names and s.name != MONTH_OVER_MONTH) or s.name in comparisons
    ]
    per_query = estimate(root, sent, types, usage_start)
    in_window = [r for r, s in zip(per_query, sent, strict=True) if s.window == window]
    one_pass = one_pass_bytes(root, in_window, window, usage_start)

    adapter = cost_sql(schema, _RELATION, types, window, DEFAULT_TAG_ALIASES)
    mom = next((s for s in specs if s.name == MONTH_OVER_MONTH), None)
    planned = comparison_extract(
        schema,
        _RELATION,
        types,
        window,
        DEFAULT_TAG_ALIASES,
        month_over_month_sql=mom.sql if mom is not None else None,
        with_month_to_date="cost" in families,
    )
    first, second = run_unloads(
        adapter.sql, adapter.params, [s.sql for s in specs], planned, _LOCATION
    )
    # a comparison reaching back into the window's first month widens the first copy
    reach = Window(max(planned.start, window.start.replace(day=1)), window.end)
    unloads = [Statement("athena_extract", first.select, first.params, reach)]
    if second is not None:
        unloads.append(
            Statement(
                "athena_extract_comparisons",
                second.select,
                second.params,
                Window(planned.start, window.start.replace(day=1)),
            )
        )
    scans = estimate(root, unloads, types, usage_start)
    return ExtractScan(
        label,
        sum(r.scanned_bytes for r in per_query),
        scans[0].scanned_bytes,
        scans[1].scanned_bytes if len(scans) > 1 else 0,
        one_pass,
    )


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def row(scan: ExtractScan) -> str:
    """One Markdown table row: per-query, each UNLOAD, the extract total, all against one pass."""
    total = scan.window_unload + scan.comparisons_unload
    return (
        f"| {scan.label} | {_mb(scan.per_query)} ({scan.per_query / scan.one_pass:.1f}x) "
        f"| {_mb(scan.window_unload)} ({scan.window_unload / scan.one_pass:.2f}x) "
        f"| {_mb(scan.comparisons_unload)} "
        f"| {_mb(total)} ({total / scan.one_pass:.2f}x) |"
    )


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) each schema's sample and print the extract-mode table."""
    from finops_agent.sample_data import generate

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schema", action="append", choices=["cur", "cur2", "focus"])
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    print(
        "| | per-query scan | extract: window UNLOAD | extract: comparisons UNLOAD | extract total |"
    )
    print("|---|---:|---:|---:|---:|")
    for schema in args.schema or ["cur2", "focus"]:
        out = here / "data" / f"extract_scan_{schema}_{args.rows}"
        if not (out / "data").exists():
            generate(schema, out, rows=args.rows, months=3, end=dt.date(2026, 10, 31))
        root = out / "data"
        window_chunks(root, _OCTOBER, _USAGE_START[schema])  # fails early on a broken sample
        for label, window, families in (
            ("full report", _OCTOBER, list(FAMILIES)),
            ("daily digest", _DIGEST, ["cost"]),
        ):
            print(row(measure(root, f"{schema}, {label}", window, families)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
