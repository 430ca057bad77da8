"""The analyze-file flow end to end: through the CLI on a local file, and on an s3:// file (moto)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from finops_agent.cli import app
from tests.analyze_shapes import REAL_SHAPES, SHAPES

runner = CliRunner()


@pytest.mark.integration
def test_cli_analyze_prints_the_report_path_last(tmp_path: Path) -> None:
    shape = SHAPES["EBS volume inventory"]()
    path = shape.write(tmp_path)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["analyze", str(path), "--out", str(out), "--group-col", "region"])
    assert result.exit_code == 0, result.output
    html = Path(result.stdout.strip().splitlines()[-1])
    assert html.name == "report.html" and html.parent.parent == out
    data = json.loads((html.parent / "report.json").read_text(encoding="utf-8"))
    assert (data["schema"], data["source"]) == ("file", path.name)
    assert data["totals"]["unblended_cost"] == pytest.approx(shape.total())
    assert data["file"]["datasets"][0]["group"] == "region"
    assert {f["id"] for f in data["findings"]} >= {"gp2"}
    assert len(data["suggested_prompts"]) == 5
    assert "Detected columns" in html.read_text(encoding="utf-8")


@pytest.mark.integration
def test_flow_downloads_s3_results_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.analyze import analyze_file

    monkeypatch.setenv("FINOPS_HOME", str(tmp_path / "home"))
    shape = SHAPES["tagging correlation"]()
    local = shape.write(tmp_path / "src")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="athena-results")
        s3.upload_file(str(local), "athena-results", "exports/2026-10/tagging_correlation.csv")
        html = Path(
            analyze_file(
                paths=["s3://athena-results/exports/2026-10/tagging_correlation.csv"],
                output_dir=str(tmp_path / "reports"),
            )
        )
    data = json.loads((html.parent / "report.json").read_text(encoding="utf-8"))
    assert data["source"] == "tagging_correlation.csv"
    assert data["metrics"]["analysis_type"] == "tagging"
    assert data["totals"]["unblended_cost"] == pytest.approx(shape.total("total_cost"))
    downloaded = Path(data["file"]["read_options"][0]["path"])
    # kept under FINOPS_HOME so chat can reopen the file after the flow ends
    assert downloaded.is_file() and (tmp_path / "home" / "downloads") in downloaded.parents


@pytest.mark.integration
def test_cli_names_the_report_command_for_a_billing_export(tmp_path: Path) -> None:
    path = REAL_SHAPES["CUR 2.0 export"]().write(tmp_path)
    result = runner.invoke(app, ["analyze", str(path), "--out", str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    command = (
        f"finops report --source {path.resolve()} --schema cur2 --start 2026-05-01 --end 2026-06-01"
    )
    assert result.stderr.splitlines()[-2:] == [
        "cur2_export.csv is a cur2 billing export; for the full report run:",
        f"  {command}",
    ]
    html = Path(result.stdout.strip().splitlines()[-1])
    data = json.loads((html.parent / "report.json").read_text(encoding="utf-8"))
    assert data["file"]["datasets"][0]["cost"] == "line_item_unblended_cost"
    assert data["file"]["datasets"][0]["billing_export"] == {
        "schema": "cur2",
        "commands": [command],
    }


@pytest.mark.integration
@pytest.mark.parametrize(
    ("shape_name", "total"), [("CUR 2.0 export", 82.854), ("FOCUS export", 825.0)]
)
def test_the_printed_command_runs_the_full_report_to_the_same_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape_name: str, total: float
) -> None:
    monkeypatch.setenv("FINOPS_HOME", str(tmp_path / "home"))
    from finops_agent.analyze.dataset import open_workspace
    from finops_agent.analyze.exports import report_commands
    from finops_agent.runs.report import ReportRequest, build_report

    path = REAL_SHAPES[shape_name]().write(tmp_path)
    workspace = open_workspace([str(path)])
    try:
        (command,) = report_commands(workspace.datasets[0])
        analysed = workspace.datasets[0].totals[workspace.datasets[0].profile.cost or ""]
    finally:
        workspace.close()
    args = shlex.split(command)
    assert args[:2] == ["finops", "report"]
    options = dict(zip(args[2::2], args[3::2], strict=True))
    html = build_report(
        ReportRequest(
            source=options["--source"],
            schema=options["--schema"],
            start=options["--start"],
            end=options["--end"],
            output_dir=str(tmp_path / "reports"),
        )
    )
    data = json.loads((Path(html).parent / "report.json").read_text(encoding="utf-8"))
    assert all(q["status"] == "ok" for q in data["queries"].values())
    # the stored queries and the file profile agree on the bill
    assert data["metrics"]["unblended_cost"] == pytest.approx(total)
    assert analysed == pytest.approx(total)


@pytest.mark.integration
def test_flow_with_default_parameters_analyses_the_configured_source_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.analyze import analyze_file

    shape = SHAPES["EBS volume inventory"]()
    folder = tmp_path / "exports"
    path = shape.write(folder)
    (folder / "notes.txt").write_text("not data", encoding="utf-8")
    monkeypatch.setenv("FINOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINOPS_SOURCE", str(folder))
    html = Path(analyze_file(output_dir=str(tmp_path / "reports")))
    data = json.loads((html.parent / "report.json").read_text(encoding="utf-8"))
    assert data["source"] == path.name
    assert data["totals"]["unblended_cost"] == pytest.approx(shape.total(), abs=0.005, rel=0)
    notice = f"No files were given, so this analyses FINOPS_SOURCE ({folder})."
    assert data["insights"]["warnings"][0] == notice
    assert notice in html.read_text(encoding="utf-8")
