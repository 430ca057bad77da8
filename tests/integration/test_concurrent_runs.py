"""Two reports written into one output folder at the same time both complete, with distinct ids."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from finops_agent.execution import run_query
from finops_agent.insights.generate import generate_insights
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.pipeline import prepare_run, render_report, summarise_run
from finops_agent.reports.folder import list_reports
from finops_agent.settings import load_settings
from tests import tiny
from tests.support.bounded import join_all

pytestmark = [pytest.mark.integration, pytest.mark.fault]


def test_two_runs_into_one_folder(tmp_path: Path) -> None:
    source = tiny.write("cur2", tmp_path / "data")
    out = tmp_path / "reports"
    paths: list[Path] = []
    errors: list[BaseException] = []
    # both runs enter the folder-writing step together, and record when they were inside it
    at_render = threading.Barrier(2, timeout=120)
    inside: list[tuple[float, float]] = []

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
            insights = generate_insights(RuleInsights(), summary)
            at_render.wait()
            entered = time.monotonic()
            paths.append(render_report(run, summary, insights))
            inside.append((entered, time.monotonic()))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            at_render.abort()

    threads = [threading.Thread(target=one_run, name=f"run-{i}") for i in range(2)]
    for t in threads:
        t.start()
    join_all(threads, 240, "report runs")
    assert errors == []
    # the second run entered the writing step before the first had left it
    assert max(start for start, _ in inside) < min(end for _, end in inside), inside
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
