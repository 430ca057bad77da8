"""`make bench`: report speed and memory against a bare-DuckDB lower bound and a pandas baseline.

Each measurement runs in its own process so its peak RSS is its own. Figures are compared
as ratios measured in the same run, because machines here are noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
END = dt.date(2026, 11, 1)  # fixed, so every run measures the same data
START = dt.date(2026, 10, 1)
OVERHEAD_S = 3.0


def _measure(kind: str, source: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "stages.py"),
            kind,
            str(source),
            START.isoformat(),
            END.isoformat(),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _cli_wall(source: Path, out_dir: Path) -> float:
    """Wall time of `finops report` including Prefect's ephemeral server start."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "finops_agent",
            "report",
            "--source",
            str(source),
            "--start",
            START.isoformat(),
            "--end",
            END.isoformat(),
            "--out",
            str(out_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
    )
    return time.perf_counter() - started


def _dataset(rows: int, data_dir: Path) -> Path:
    from finops_agent.sample_data import generate

    folder = data_dir / f"cur2-{rows}"
    if not (folder / "ground_truth.json").is_file():
        started = time.perf_counter()
        generate("cur2", folder, rows=rows, months=2, seed=11, end=END + dt.timedelta(days=0))
        print(f"generated {rows:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return folder / "data"


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| rows | report (s) | lower bound (s) | report / (1.5 × bound + 3 s) | pandas (s) | speed-up vs pandas | "
        "report RSS (MB) | pandas RSS (MB) | RSS ratio | CLI incl. Prefect (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['report']['total_s']:.2f} | {r['duckdb']['total_s']:.2f} | "
            f"{r['report']['total_s'] / (1.5 * r['duckdb']['total_s'] + OVERHEAD_S):.2f} | "
            f"{r['pandas']['total_s']:.2f} | {r['pandas']['total_s'] / r['report']['total_s']:.1f}× | "
            f"{r['report']['peak_rss_mb']:.0f} | {r['pandas']['peak_rss_mb']:.0f} | "
            f"{r['report']['peak_rss_mb'] / r['pandas']['peak_rss_mb']:.2f} | {r['cli_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Generate data, measure every size, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--large", action="store_true", help="also 50M rows")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    args = parser.parse_args()
    sizes = [*args.rows, *([50_000_000] if args.large else [])]
    results = []
    for rows in sizes:
        source = _dataset(rows, args.data_dir)
        entry: dict[str, Any] = {"rows": rows}
        entry["report"] = _measure("report", source)
        entry["duckdb"] = _measure("duckdb", source)
        entry["pandas"] = (
            {"total_s": float("nan"), "peak_rss_mb": float("nan")}
            if args.no_pandas or rows > 10_000_000
            else _measure("pandas", source)
        )
        entry["cli_s"] = _cli_wall(source, args.data_dir / "reports")
        results.append(entry)
        print(json.dumps(entry), file=sys.stderr)
    table = _table(results)
    print(table)
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else ""
    marker = "<!-- results -->"
    head = text.split(marker)[0] if marker in text else text
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    details = "\n".join(
        f"- {r['rows']:,} rows: report stages "
        + ", ".join(f"{k} {v:.2f}s" for k, v in r["report"]["stages"].items())
        for r in results
    )
    readme.write_text(
        f"{head}{marker}\nMeasured {stamp} on {os.cpu_count()} cores.\n\n{table}\n\n{details}\n"
    )


if __name__ == "__main__":
    main()
