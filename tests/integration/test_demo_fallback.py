"""A served report run with default parameters and no source configured runs on the demo's data, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finops_agent.runs.report import ReportRequest, ReportSteps, build_report
from finops_agent.sample_data import demo


@pytest.mark.integration
def test_no_source_anywhere_runs_on_generated_demo_data_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINOPS_SOURCE", raising=False)
    monkeypatch.setenv("FINOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINOPS_ENGINE", "duckdb")
    monkeypatch.setattr(demo, "DEMO_ROWS", 4_000)
    said: list[str] = []
    steps = ReportSteps(say=said.append)
    path = build_report(
        ReportRequest(output_dir=str(tmp_path / "reports"), demo_when_no_source=True), steps
    )
    data = tmp_path / "home" / "sample-data"
    folders = sorted(data.iterdir())
    assert [f.name.split("-")[:2] for f in folders] == [["cur2", "4000"]]
    notice = said[0]
    assert notice.startswith("No billing source is configured") and "demo data" in notice
    assert notice.endswith("The demo data was generated for this run.")
    report = json.loads((path.parent / "report.json").read_text())
    assert report["insights"]["warnings"][0] == notice.removesuffix(
        " The demo data was generated for this run."
    )
    assert str(folders[0] / "data") in report["insights"]["warnings"][0]
    assert said[-1] == f"report written: {path}"


@pytest.mark.integration
def test_the_cli_still_refuses_a_missing_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINOPS_SOURCE", raising=False)
    with pytest.raises(
        Exception, match="no source: pass --source PATH_OR_GLOB or set FINOPS_SOURCE"
    ):
        build_report(ReportRequest(output_dir=str(tmp_path / "reports")))
