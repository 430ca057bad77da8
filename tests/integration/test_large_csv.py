"""A 2 GB legacy CUR CSV through `finops report`: the right totals in bounded memory."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from finops_agent.sample_data import generate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
FINOPS = str(Path(sys.executable).with_name("finops"))
_COPIES = 10  # 400k generated lines of ~550 bytes, ten times over: 2.2 GB
# DuckDB's default 1 GB limit (it spills beyond it) plus the Python side of a report
_PEAK_RSS_LIMIT_MB = 1800


def _two_gigabyte_csv(folder: Path) -> tuple[Path, int, float]:
    """One raw-header CUR CSV of over 2 GB, its line count and the unblended cost it holds."""
    generate("cur", folder / "base", rows=400_000, months=1, seed=3, fmt="csv", end=dt.date(2026, 11, 1))  # fmt: skip
    base = next((folder / "base" / "data").rglob("*.csv"))
    with base.open("rb") as handle:
        header, body = handle.readline(), handle.read()
    big = folder / "cur-2gb.csv"
    with big.open("wb") as out:
        out.write(header)
        for _ in range(_COPIES):
            out.write(body)
    # counted and summed straight from the generated file, not through the project's adapters
    lines, cost = duckdb.connect().execute(
        'select count(*), sum(cast("lineItem/UnblendedCost" as double)) '
        f"from read_csv('{base}', all_varchar=true)"
    ).fetchone() or (0, 0.0)
    return big, int(lines) * _COPIES, float(cost) * _COPIES


@pytest.mark.hostile
def test_a_two_gigabyte_csv_is_reported_correctly_in_bounded_memory(tmp_path: Path) -> None:
    """A 2.2 GB CSV: every query runs, the totals match the file, peak RSS stays bounded."""
    big, lines, cost = _two_gigabyte_csv(tmp_path)
    assert big.stat().st_size > 2 * 1024**3
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("w") as out, stderr.open("w") as err:
        proc = subprocess.Popen(
            [
                FINOPS,
                "report",
                "--source",
                str(big),
                "--out",
                str(tmp_path / "reports"),
                "--start",
                "2026-10-01",
                "--end",
                "2026-11-01",
            ],
            env={**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")},
            stdout=out,
            stderr=err,
        )
        # wait4 gives this child's own peak RSS (pytest's RUSAGE_CHILDREN mixes in other tests')
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, stderr.read_text()[-2000:]
    data = json.loads(Path(stdout.read_text().split()[-1]).with_name("report.json").read_text())
    assert [name for name, q in data["queries"].items() if q["status"] != "ok"] == []
    assert data["metrics"]["rows"] == lines
    assert data["metrics"]["unblended_cost"] == pytest.approx(cost, abs=0.05)
    peak_mb = usage.ru_maxrss / 1024
    assert peak_mb < _PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB for a 2.2 GB file"
