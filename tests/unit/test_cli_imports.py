"""Commands pay only for what they use: `finops --help` and `finops list` load no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

_HEAVY = ("plotly", "kaleido", "boto3", "awswrangler", "prefect", "pandas", "duckdb", "sqlglot")
_PROBE = """
import json, sys
from finops_agent.cli import app
try:
    app(sys.argv[1:], prog_name="finops", standalone_mode=False)
except SystemExit:
    pass
heavy = {heavy!r}
print(json.dumps(sorted(h for h in heavy if h in sys.modules)))
"""


def _loaded(args: list[str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=_HEAVY), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["report", "--help"],
        ["list", "--out", "reports"],
    ],
)
def test_light_commands_load_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    assert _loaded(args, tmp_path) == []


def test_an_offline_answer_loads_no_plotting_cloud_or_orchestration_library(
    tmp_path: Path,
) -> None:
    from finops_agent.runs.report import ReportRequest, build_report
    from tests import tiny

    source = tiny.write("cur2", tmp_path / "data")
    path = build_report(
        ReportRequest(
            source=str(source),
            output_dir=str(tmp_path / "reports"),
            start="2026-10-01",
            end="2026-11-01",
        )
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE.format(heavy=("plotly", "kaleido", "boto3", "awswrangler", "prefect")),
            "ask",
            path.parent.name,
            "What was the total cost?",
            "--out",
            "reports",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    assert "$34.00" in done.stdout, done.stdout + done.stderr
    assert json.loads(lines[-1]) == []
