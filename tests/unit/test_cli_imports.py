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
