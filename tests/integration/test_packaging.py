"""The wheel carries the stored SQL and templates, and the package finds them when installed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from finops_agent.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
# building a wheel with pip is slow on a loaded machine
pytestmark = pytest.mark.timeout(900)


@pytest.mark.integration
def test_installed_wheel_finds_queries_and_templates(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("finops_agent-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "finops_agent/queries/catalog.yaml" in names
    assert "finops_agent/templates/report.html.j2" in names
    assert "flows/report.py" in names
    probe = (
        "import finops_agent.resources as r, finops_agent.catalog as c;"
        "print(r.queries_dir()); print(r.templates_dir()); print(len(c.load_catalog().queries))"
    )
    # run from an empty folder with only the unpacked wheel on the path, never the checkout
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert out[0] == str(site / "finops_agent" / "queries")
    assert out[1] == str(site / "finops_agent" / "templates")
    # the wheel's catalog holds every stored query of the checkout's
    assert int(out[2]) == len(load_catalog().queries)


@pytest.mark.parametrize(
    "module",
    [
        "finops_agent.cli",
        "finops_agent.cli.analyze",
        "finops_agent.cli.chat",
        "finops_agent.cli.send",
        "finops_agent.cli.history",
        "flows.report",
        "flows.chat",
        "flows.analyze",
    ],
)
def test_entry_modules_import_on_their_own(module: str) -> None:
    # each in a fresh interpreter: an import cycle hides when another module happened to load first
    subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        check=True,
        timeout=600,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )
