"""Layers point down: import-linter's contracts in pyproject.toml hold, and can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}
    return subprocess.run(
        [str(executable), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.timeout(300)
def test_the_library_never_imports_flows_and_layers_point_down() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in done.stdout


@pytest.mark.timeout(300)
def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "src", copy / "src")
    shutil.copytree(ROOT / "flows", copy / "flows")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    # the report renderer reaching up into the delivery layer
    render = copy / "src" / "finops_agent" / "report" / "render.py"
    render.write_text(render.read_text() + "\nfrom finops_agent.delivery import report_mail\n")
    done = _lint_imports(copy)
    assert done.returncode == 1
    assert "finops_agent.report is not allowed to import finops_agent.delivery" in done.stdout
