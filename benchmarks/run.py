"""`make bench`: report speed and memory against a bare-DuckDB lower bound and a pandas baseline.

Each measurement runs in its own process so its peak RSS is its own. Figures are compared
as ratios measured in the same run, because machines here are noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from verdict import Targets, detail_lines, findings, table, verdicts

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
END = dt.date(2026, 11, 1)  # fixed, so every run measures the same data
START = dt.date(2026, 10, 1)
SIZES = [1_000_000, 10_000_000]
LARGE = 50_000_000
PANDAS_MAX_ROWS = 10_000_000  # the pandas baseline needs several times the report's memory
CHUNK_ROWS = 10_000_000  # largest dataset the generator makes in one go
MARKER = "<!-- results -->"


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{HERE}", **extra}


def _child(argv: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run one child to completion: its stdout and wall seconds (start to exit)."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[1:4]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout, wall


def _measure(kind: str, source: Path) -> dict[str, Any]:
    """One stage of stages.py in a fresh process; its JSON line."""
    argv = [sys.executable, str(HERE / "stages.py"), kind, str(source), str(START), str(END)]
    out, _ = _child(argv, _env())
    return dict(json.loads(out.strip().splitlines()[-1]))


def _cli(source: Path, out_dir: Path) -> dict[str, Any]:
    """`finops report` in a fresh process, Prefect included, with the query cache off.

    FINOPS_QUERY_CACHE_HOURS=0 makes every query run: a cached result from an earlier
    benchmark run would otherwise answer and flatter the CLI. The wall time is the whole
    process (imports, Prefect's server start and stop); the peak RSS is the CLI process's
    own (the Prefect server is a process of its own).
    """
    script = (
        "import resource, runpy, sys, json, time\n"
        "started = time.perf_counter()\n"
        "sys.argv = ['finops', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('finops_agent', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    if exc.code not in (0, None): raise\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'inner_s': time.perf_counter() - started, 'peak_rss_mb': peak}))\n"
    )
    argv = [sys.executable, "-c", script, "report", "--source", str(source)]
    argv += ["--start", str(START), "--end", str(END), "--out", str(out_dir)]
    out, wall = _child(argv, _env(FINOPS_QUERY_CACHE_HOURS="0"))
    return {"total_s": wall, **json.loads(out.strip().splitlines()[-1])}


def _dataset(rows: int, data_dir: Path) -> Path:
    """The sample CUR 2.0 folder of `rows` line items, generated once and kept.

    Sizes above one chunk are generated as several datasets of different seeds side by side
    (the generator holds a whole dataset in memory, ~1 GB per million rows); the engine reads
    the folder as one source, each chunk with its own billing_period= partitions.
    """
    from finops_agent.sample_data import generate

    folder = data_dir / f"cur2-{rows}"
    done = folder / "complete"
    if not done.is_file():
        started = time.perf_counter()
        chunks = max(1, math.ceil(rows / CHUNK_ROWS))
        for i in range(chunks):
            part = folder if chunks == 1 else folder / f"chunk-{i}"
            generate("cur2", part, rows=rows // chunks, months=2, seed=11 + i, end=END)
        done.write_text(f"{rows}\n")
        print(f"generated {rows:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return folder / "data" if (folder / "data").is_dir() else folder


def _absent() -> dict[str, float]:
    return {"total_s": math.nan, "peak_rss_mb": math.nan}


def _record(results: list[dict[str, Any]], targets: Targets) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{MARKER}\nMeasured {stamp} on {os.cpu_count()} cores "
        f"(window {START} to {END - dt.timedelta(days=1)}).\n\n"
        f"{table(results)}\n\n### What the numbers say\n\n{findings(results, targets)}\n\n"
        f"### Targets\n\n{verdicts(results, targets)}\n\n"
        f"### Slowest stages (s)\n\n{detail_lines(results)}\n"
    )


def main() -> None:
    """Generate data, measure every size, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="*", default=SIZES)
    parser.add_argument("--large", action="store_true", help=f"also {LARGE:,} rows (no pandas)")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--no-record", action="store_true", help="print only, keep README.md")
    args = parser.parse_args()
    sizes = [*args.rows, *([LARGE] if args.large else [])]
    results = []
    for rows in sizes:
        source = _dataset(rows, args.data_dir)
        entry: dict[str, Any] = {"rows": rows}
        entry["report"] = _measure("report", source)
        entry["duckdb"] = _measure("duckdb", source)
        skip_pandas = args.no_pandas or rows > PANDAS_MAX_ROWS
        entry["pandas"] = _absent() if skip_pandas else _measure("pandas", source)
        entry["cli"] = _cli(source, args.data_dir / "reports")
        results.append(entry)
        print(json.dumps(entry), file=sys.stderr)
    text = _record(results, Targets())
    print(text)
    if args.no_record:
        return
    readme = HERE / "README.md"
    head = readme.read_text().split(MARKER)[0] if readme.exists() else ""
    readme.write_text(head + text)


if __name__ == "__main__":
    main()
