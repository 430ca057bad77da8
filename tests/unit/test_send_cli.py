"""`finops send` opens only reports inside the reports folder, like chat and ask."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_agent.cli import app


@pytest.mark.hostile
@pytest.mark.parametrize("report_id", ["../secret", "/tmp/secret", "sec\x00ret", "evil", ".."])
def test_send_refuses_report_ids_that_leave_the_reports_folder(
    tmp_path: Path, report_id: str
) -> None:
    """Path tricks and a symlink out of the reports folder exit 2 and nothing is read or sent."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "report.json").write_text('{"report_id": "secret"}')
    reports = tmp_path / "reports"
    reports.mkdir()
    os.symlink(secret, reports / "evil")
    result = CliRunner().invoke(
        app, ["send", report_id, "--out", str(reports), "--to", "a@example.com"]
    )
    assert result.exit_code == 2
    # the symlinked folder is a valid id that leads out; the others are not ids at all
    reason = "resolves outside" if report_id == "evil" else "invalid report id"
    assert reason in " ".join(result.output.split())
    assert not (secret / "delivery.json").exists()


def test_send_names_a_missing_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["send", "20261201T000000Z-abcdef", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no report '20261201T000000Z-abcdef'" in result.output
