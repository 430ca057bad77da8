"""The benchmark's table and its verdict against issue #10's targets, from one run's results.

Everything written here is computed from the results passed in, so the recorded text is
true of the run that wrote it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Result = dict[str, Any]


@dataclass(frozen=True)
class Targets:
    """Issue #10's targets on a 2-core machine."""

    at_rows: int = 10_000_000
    bound_factor: float = 1.5
    fixed_overhead_s: float = 3.0
    pandas_speedup: float = 10.0
    pandas_rss_share: float = 0.25
    peak_rss_mb: float = 1536.0
    growth_rows: tuple[int, int] = (1_000_000, 10_000_000)
    growth_ratio: float = 12.0
    large_rows: int = 50_000_000


def _s(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def _x(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def _times(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}×"


def _mb(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}"


def _budget(r: Result, t: Targets) -> float:
    return float(t.bound_factor * r["duckdb"]["total_s"] + t.fixed_overhead_s)


def table(results: list[Result], t: Targets | None = None) -> str:
    """One row per size: absolute figures and the ratios the targets are about."""
    t = t or Targets()
    lines = [
        "| rows generated | rows in window | report (s) | CLI incl. Prefect (s) | lower bound (s) "
        "| CLI / (1.5 × bound + 3 s) | pandas (s) | pandas / report | report RSS (MB) "
        "| CLI RSS (MB) | pandas RSS (MB) | report / pandas RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        report, cli, pandas = r["report"], r["cli"], r["pandas"]
        lines.append(
            f"| {r['rows']:,} | {report['rows']:,} | {_s(report['total_s'])} "
            f"| {_s(cli['total_s'])} | {_s(r['duckdb']['total_s'])} "
            f"| {_x(cli['total_s'] / _budget(r, t))} | {_s(pandas['total_s'])} "
            f"| {_times(pandas['total_s'] / report['total_s'])} | {_mb(report['peak_rss_mb'])} "
            f"| {_mb(cli['peak_rss_mb'])} | {_mb(pandas['peak_rss_mb'])} "
            f"| {_x(report['peak_rss_mb'] / pandas['peak_rss_mb'])} |"
        )
    return "\n".join(lines)


def _row(target: str, measured: str, met: bool | None) -> str:
    verdict = "not measured" if met is None else ("met" if met else "**not met**")
    return f"| {target} | {measured} | {verdict} |"


def verdicts(results: list[Result], t: Targets) -> str:
    """The targets, what this run measured for each, and whether it holds."""
    by_rows = {r["rows"]: r for r in results}
    rows = ["| target | measured | verdict |", "|---|---|---|"]
    main = by_rows.get(t.at_rows)
    if main is None:
        rows.append(_row(f"targets at {t.at_rows:,} rows", "size not run", None))
    else:
        cli, report, pandas = main["cli"], main["report"], main["pandas"]
        budget = _budget(main, t)
        rows.append(
            _row(
                f"CLI (Prefect included) ≤ {t.bound_factor} × lower bound + "
                f"{t.fixed_overhead_s:.0f} s",
                f"{cli['total_s']:.1f} s vs {budget:.1f} s",
                cli["total_s"] <= budget,
            )
        )
        speedup = pandas["total_s"] / report["total_s"]
        rows.append(
            _row(
                f"≥ {t.pandas_speedup:.0f}× faster than pandas",
                f"report {_times(speedup)}, CLI {_times(pandas['total_s'] / cli['total_s'])}",
                None if math.isnan(speedup) else speedup >= t.pandas_speedup,
            )
        )
        share = report["peak_rss_mb"] / pandas["peak_rss_mb"]
        rows.append(
            _row(
                f"≤ {t.pandas_rss_share:g} of pandas' peak RSS",
                f"{_x(share)} ({_mb(report['peak_rss_mb'])} vs {_mb(pandas['peak_rss_mb'])} MB)",
                None if math.isnan(share) else share <= t.pandas_rss_share,
            )
        )
        peak = max(report["peak_rss_mb"], cli["peak_rss_mb"])
        rows.append(
            _row(
                f"peak RSS ≤ {t.peak_rss_mb:,.0f} MB",
                f"{_mb(peak)} MB (report or CLI, whichever is higher)",
                peak <= t.peak_rss_mb,
            )
        )
    small, large = (by_rows.get(n) for n in t.growth_rows)
    if small and large:
        growth = large["report"]["total_s"] / small["report"]["total_s"]
        cli_growth = large["cli"]["total_s"] / small["cli"]["total_s"]
        rows.append(
            _row(
                f"{t.growth_rows[1] // 1_000_000}M / {t.growth_rows[0] // 1_000_000}M time "
                f"≤ {t.growth_ratio:g}",
                f"report {growth:.1f}, CLI {cli_growth:.1f}",
                growth <= t.growth_ratio,
            )
        )
    biggest = by_rows.get(t.large_rows)
    rows.append(
        _row(
            f"{t.large_rows // 1_000_000}M rows complete without running out of memory",
            "not run in this measurement (`--large`)"
            if biggest is None
            else f"report {biggest['report']['total_s']:.1f} s at "
            f"{_mb(biggest['report']['peak_rss_mb'])} MB, CLI {biggest['cli']['total_s']:.1f} s",
            None if biggest is None else not biggest["report"]["failed"],
        )
    )
    return "\n".join(rows)


def _top(stages: dict[str, float], count: int) -> str:
    queries = sum(v for k, v in stages.items() if k.startswith("query:"))
    ranked = sorted(stages.items(), key=lambda kv: kv[1], reverse=True)[:count]
    named = ", ".join(f"{k} {v:.2f}" for k, v in ranked)
    return f"{named}; all queries together {queries:.2f}"


def detail_lines(results: list[Result]) -> str:
    """Where the time went, per size: the slowest stages of the report and of pandas (s)."""
    lines = []
    for r in results:
        lines.append(f"- {r['rows']:,} rows, report: {_top(r['report']['stages'], 8)}")
        if "stages" in r["pandas"]:
            lines.append(f"- {r['rows']:,} rows, pandas: {_top(r['pandas']['stages'], 6)}")
    return "\n".join(lines)


def _share(part: float, whole: float) -> str:
    return f"{part / whole * 100:.0f} %"


def findings(results: list[Result], t: Targets) -> str:
    """A few sentences on what this run's numbers say, each computed from them."""
    by_rows = {r["rows"]: r for r in results}
    lines = []
    for rows in sorted(by_rows):
        r = by_rows[rows]
        report, bound, cli = r["report"], r["duckdb"], r["cli"]
        stages = report["stages"]
        build = stages.get("source and cost table", math.nan)
        queries = sum(v for k, v in stages.items() if k.startswith("query:"))
        line = (
            f"- **{rows:,} rows** ({report['rows']:,} in the window): the report takes "
            f"{report['total_s']:.1f} s, {_share(build, report['total_s'])} of it reading the "
            f"window and building the cost table ({build:.1f} s) and {queries:.1f} s for the "
            f"{report['queries'] - 1} stored queries; bare DuckDB running the same statements "
            f"takes {bound['total_s']:.1f} s, so the pipeline around them costs "
            f"{report['total_s'] - bound['total_s']:.1f} s. Through the CLI, Prefect included, "
            f"it takes {cli['total_s']:.1f} s ({cli['total_s'] - report['total_s']:+.1f} s)."
        )
        pandas = r["pandas"]
        if not math.isnan(pandas["total_s"]):
            read = pandas["stages"].get("read and canonical columns", math.nan)
            line += (
                f" pandas computing the same aggregates takes {pandas['total_s']:.1f} s "
                f"({read:.1f} s of it reading the window into a DataFrame) at "
                f"{_mb(pandas['peak_rss_mb'])} MB against the report's "
                f"{_mb(report['peak_rss_mb'])} MB: pandas takes "
                f"{pandas['total_s'] / report['total_s']:.1f}× the report's time and "
                f"{pandas['total_s'] / bound['total_s']:.1f}× that of bare DuckDB (target: "
                f"{t.pandas_speedup:.0f}×)."
            )
        lines.append(line)
    return "\n".join(lines)
