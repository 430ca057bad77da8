"""Two reports written into one output folder at the same time both complete, with distinct ids."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from finops_agent.execution import run_query
from finops_agent.insights.generate import generate_insights
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.pipeline import prepare_run, render_report, summarise_run
from finops_agent.reports.folder import list_reports
from finops_agent.settings import load_settings
from tests import tiny

pytestmark = [pytest.mark.integration, pytest.mark.fault]


def test_two_runs_into_one_folder(tmp_path: Path) -> None:
    source = tiny.write("cur2", tmp_path / "data")
    out = tmp_path / "reports"
    paths: list[Path] = []
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            run = prepare_run(
                load_settings(output_dir=out),
                source=str(source),
                start="2026-10-01",
                end="2026-11-01",
            )
            results = [run_query(run.engine, spec, run.params) for spec in run.specs]
            run.engine.close()
            summary = summarise_run(run, results)
            paths.append(render_report(run, summary, generate_insights(RuleInsights(), summary)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({p.parent.name for p in paths}) == 2
    for path in paths:
        assert json.loads((path.parent / "report.json").read_text())["totals"][
            "unblended_cost"
        ] == pytest.approx(34.0)
        assert path.read_text().rstrip().endswith("</html>")
    assert {r.report_id for r in list_reports(out) if r.complete} == {p.parent.name for p in paths}
    # each run rewrites the index after its own report, so the last rewrite sees both
    index = (out / "index.html").read_text()
    assert all(f"{p.parent.name}/report.html" in index for p in paths)
    assert not list(out.rglob(".report*")) and not list(out.rglob(".index.html*"))
