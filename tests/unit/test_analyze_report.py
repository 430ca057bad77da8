"""From analysed files to findings, prompts, report.html and a report.json chat can reopen."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape

from finops_agent.analyze.analysis import FileReportSummary
from finops_agent.analyze.dataset import open_workspace
from finops_agent.analyze.file_rules import FileRuleInsights
from finops_agent.analyze.run import (
    analyse_workspace,
    file_insights,
    file_metadata,
    insight_provider,
    render,
)
from finops_agent.chat.session import ChatSession
from finops_agent.insights.base import Insights
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.result_files.load import AnalyzeError
from finops_agent.result_files.views import reopen
from finops_agent.settings import load_settings
from finops_agent.summarise import ReportSummary
from tests.analyze_shapes import SHAPES, Shape


def _analyse(paths: list[Path]) -> tuple[FileReportSummary, Insights, list[dict[str, object]]]:
    workspace = open_workspace([str(p) for p in paths])
    try:
        summary = analyse_workspace(workspace, "auto", load_settings())
        insights = file_insights(FileRuleInsights(), summary)
        return (
            summary,
            insights,
            [o.model_dump() for o in file_metadata(workspace, summary).read_options],
        )
    finally:
        workspace.close()


def _shape_file(tmp_path: Path, name: str) -> tuple[Shape, Path]:
    shape = SHAPES[name]()
    return shape, shape.write(tmp_path)


def test_gp2_volumes_are_priced_at_a_fifth_of_their_monthly_cost(tmp_path: Path) -> None:
    shape, path = _shape_file(tmp_path, "EBS volume inventory")
    _, insights, _ = _analyse([path])
    gp2 = next(f for f in insights.findings if f.id == "gp2")
    gp2_cost = sum(float(r[4]) for r in shape.rows if r[1] == "gp2")
    # the file is undated and its cost column is monthly: no scaling
    assert gp2.monthly_savings_usd == pytest.approx(round(gp2_cost * 0.20, 2))
    assert gp2.effort == "low"
    assert "10 row(s) mention gp2" in gp2.evidence
    # rate, action and assumption are the stored gp2_volumes query's, from the catalog
    assert gp2.reasoning.startswith("20% of $")
    assert "assumption: gp3 is 20% cheaper per GB-month" in gp2.reasoning
    assert gp2.action.startswith("Change the volume type to gp3 (Elastic Volumes")


def test_previous_generation_instances_are_named_and_priced(tmp_path: Path) -> None:
    _, path = _shape_file(tmp_path, "architecture inference")
    _, insights, _ = _analyse([path])
    old = next(f for f in insights.findings if f.id == "previous_generation")
    assert old.monthly_savings_usd == pytest.approx(round((876.0 + 67.2) * 0.10, 2))
    assert "m4.large" in old.evidence and "t2.micro" in old.evidence
    assert "m7g" not in old.evidence.split("types")[1].split(")")[0]


def test_untagged_share_comes_from_the_untagged_and_total_columns(tmp_path: Path) -> None:
    shape, path = _shape_file(tmp_path, "tagging correlation")
    _, insights, _ = _analyse([path])
    untagged = next(f for f in insights.findings if f.id == "untagged")
    share = shape.total("untagged_cost") / shape.total("total_cost") * 100
    assert f"{share:.1f}%" in untagged.evidence
    assert untagged.monthly_savings_usd == 0


def test_untagged_share_from_empty_tag_values(tmp_path: Path) -> None:
    path = tmp_path / "owners.csv"
    path.write_text("service,owner,cost\nEC2,team-a,60\nS3,,30\nRDS,untagged,10\n")
    _, insights, _ = _analyse([path])
    untagged = next(f for f in insights.findings if f.id == "untagged")
    assert untagged.title.startswith("40% of cost")


def test_month_over_month_and_concentration_on_daily_costs(tmp_path: Path) -> None:
    _, path = _shape_file(tmp_path, "cost by service and date")
    _summary, insights, _ = _analyse([path])
    ids = {f.id for f in insights.findings}
    assert {"concentration", "month_over_month"} <= ids
    movement = next(f for f in insights.findings if f.id == "month_over_month")
    # September: 56.5/day for 30 days; October: 76.5/day for 31 days
    expected = (76.5 * 31 - 56.5 * 30) / (56.5 * 30) * 100
    assert movement.title == f"unblended_cost rose {expected:.0f}% in 2026-10"
    assert movement.evidence.split(";")[1].strip().startswith("largest movements: AmazonEC2")


def test_a_partial_latest_month_is_compared_by_daily_run_rate(tmp_path: Path) -> None:
    rows = ["usage_date,service,cost"]
    rows += [f"2026-09-{d:02d},EC2,10" for d in range(1, 31)]
    rows += [f"2026-10-{d:02d},EC2,10" for d in range(1, 6)]  # same rate, five days so far
    path = tmp_path / "mtd.csv"
    path.write_text("\n".join(rows) + "\n")
    _, insights, _ = _analyse([path])
    assert "month_over_month" not in {f.id for f in insights.findings}


@pytest.mark.parametrize("shape_name", list(SHAPES))
def test_five_prompts_are_answered_by_chat_on_the_reopened_file(
    tmp_path: Path, shape_name: str
) -> None:
    _, path = _shape_file(tmp_path, shape_name)
    settings = load_settings(output_dir=tmp_path / "out")
    workspace = open_workspace([str(path)])
    try:
        summary = analyse_workspace(workspace, "auto", settings)
        insights = file_insights(FileRuleInsights(), summary)
        render(tmp_path / "out", workspace, summary, insights)
    finally:
        workspace.close()
    assert len(insights.suggested_prompts) == 5
    # the real chat: report.json read back, views rebuilt, each prompt guarded and run
    chat = ChatSession(settings, summary.report_id, record=False)
    try:
        for number in range(1, 6):
            turn = chat.ask(str(number))
            assert turn.mode == "prompt" and turn.rows, (number, turn.error)
        assert chat.ask("select count(*) as n from results").rows == [{"n": summary.metrics.rows}]
    finally:
        chat.close()


def test_same_columns_are_merged_and_the_report_says_so(tmp_path: Path) -> None:
    shape = SHAPES["cost by service and date"]()
    september = Shape(**{**shape.__dict__, "name": "sep", "rows": shape.rows[:120]})
    october = Shape(**{**shape.__dict__, "name": "oct", "rows": shape.rows[120:]})
    summary, insights, read_options = _analyse([september.write(tmp_path), october.write(tmp_path)])
    assert summary.layout == "merged"
    assert summary.metrics.unblended_cost == pytest.approx(shape.total())
    assert summary.source == "sep.csv, oct.csv"
    assert "**merged**" in insights.markdown
    con = reopen(read_options)
    try:
        counts = dict(
            con.execute("select source_file, count(*) from results group by 1").fetchall()
        )
    finally:
        con.close()
    assert counts == {"sep.csv": 120, "oct.csv": len(shape.rows) - 120}


def test_different_columns_are_analysed_side_by_side(tmp_path: Path) -> None:
    cost, cost_path = _shape_file(tmp_path, "cost by service and date")
    ebs, ebs_path = _shape_file(tmp_path, "EBS volume inventory")
    summary, insights, _ = _analyse([cost_path, ebs_path])
    assert summary.layout == "side_by_side"
    assert summary.families == [cost_path.name, ebs_path.name]
    assert summary.metrics.analysis_type == "cost + architecture"
    assert summary.metrics.unblended_cost == pytest.approx(cost.total() + ebs.total())
    assert summary.frame("f2_top_by_group")["monthly_cost"].sum() == pytest.approx(ebs.total())
    assert "f2_gp2" in {f.id for f in insights.findings}
    assert "**side by side**" in insights.markdown


def test_report_html_and_json_describe_the_file(tmp_path: Path) -> None:
    shape, path = _shape_file(tmp_path, "cost by service and date")
    workspace = open_workspace([str(path)])
    try:
        summary = analyse_workspace(workspace, "auto", load_settings())
        insights = file_insights(FileRuleInsights(), summary)
        html_path = render(tmp_path / "reports", workspace, summary, insights)
    finally:
        workspace.close()
    html = html_path.read_text(encoding="utf-8")
    assert html_path.parent.name == summary.report_id
    assert 'id="detected-columns"' in html
    assert "Total cost (unblended_cost)" in html
    assert "Amortised cost" not in html
    # account ids are labels in the data table, not numbers with thousands separators
    assert "111122223333" in html and "111,122,223,333" not in html
    for chart in ("top_by_group", "distribution", "trend"):
        assert f'id="chart-{chart}"' in html
    meta = json.loads((html_path.parent / "report.json").read_text(encoding="utf-8"))
    assert (meta["schema"], meta["engine"], meta["source"]) == ("file", "duckdb", path.name)
    assert meta["metrics"]["analysis_type"] == "cost"
    assert meta["window"] == {"start": "2026-09-01", "end": "2026-11-01"}
    dataset = meta["file"]["datasets"][0]
    assert dataset["roles"]["unblended_cost"] == "cost"
    assert meta["file"]["read_options"][0]["path"] == str(path.resolve())
    con = reopen(meta["file"]["read_options"])
    try:
        total = con.execute("select sum(unblended_cost) from results").fetchall()[0][0]
    finally:
        con.close()
    assert total == pytest.approx(shape.total())
    assert (tmp_path / "reports" / "index.html").is_file()


def test_the_rule_engine_is_swapped_for_file_rules_and_others_are_kept() -> None:
    class Model:
        name = "bedrock"

        def generate(self, summary: ReportSummary) -> Insights:
            return Insights(provider=self.name, markdown="from the model")

    model = Model()
    assert isinstance(insight_provider(RuleInsights()), FileRuleInsights)
    assert insight_provider(model) is model


@pytest.mark.fault
def test_a_failing_model_falls_back_to_file_rules_with_a_warning(tmp_path: Path) -> None:
    class Broken:
        name = "bedrock"

        def generate(self, summary: ReportSummary) -> Insights:
            raise TimeoutError("read timed out")

    _, path = _shape_file(tmp_path, "EBS volume inventory")
    workspace = open_workspace([str(path)])
    try:
        summary = analyse_workspace(workspace, "auto", load_settings())
    finally:
        workspace.close()
    insights = file_insights(Broken(), summary)
    assert insights.provider == "rules"
    assert "read timed out" in insights.warnings[0]
    # the file rules' two findings on the EBS inventory, counted in the metrics
    assert [(f.query, f.title) for f in insights.findings] == [
        ("rows", "Migrate gp2 EBS volumes in ebs_volume_inventory.csv to gp3"),
        ("top_by_group", "gp3 is 63% of monthly_cost in ebs_volume_inventory.csv"),
    ]
    assert summary.metrics.findings == 2


@pytest.mark.fault
def test_one_failed_aggregate_keeps_the_rest_of_the_report(tmp_path: Path) -> None:
    from finops_agent.analyze import analysis

    _, path = _shape_file(tmp_path, "EBS volume inventory")
    workspace = open_workspace([str(path)])
    try:
        original = analysis._sections

        def broken(*args: object, **kwargs: object) -> list[analysis._Section]:
            sections = original(*args, **kwargs)  # type: ignore[arg-type]
            sections[0].sql = "select * from no_such_view"
            return sections

        analysis._sections = broken  # type: ignore[assignment]
        try:
            summary = analyse_workspace(workspace, "auto", load_settings())
        finally:
            analysis._sections = original
        insights = file_insights(FileRuleInsights(), summary)
        html = render(tmp_path / "out", workspace, summary, insights).read_text(encoding="utf-8")
    finally:
        workspace.close()
    assert summary.queries["top_by_group"].status == "failed"
    assert "no_such_view" in (summary.queries["top_by_group"].error or "")
    assert summary.queries["distribution"].status == "ok"
    assert "This section failed" in html
    assert not summary.frame("distribution").empty
    assert isinstance(summary.frame("rows"), pd.DataFrame)


_CHART_IDS = {"bar": "top_by_group", "pie": "distribution", "line": "trend"}


@pytest.mark.parametrize("shape_name", list(SHAPES))
def test_every_shape_renders_its_charts_roles_and_table(tmp_path: Path, shape_name: str) -> None:
    shape, path = _shape_file(tmp_path, shape_name)
    workspace = open_workspace([str(path)])
    try:
        summary = analyse_workspace(workspace, "auto", load_settings())
        insights = file_insights(FileRuleInsights(), summary)
        html = render(tmp_path / "out", workspace, summary, insights).read_text(encoding="utf-8")
    finally:
        workspace.close()
    drawn = {kind for kind, div in _CHART_IDS.items() if f'id="chart-{div}"' in html}
    assert drawn == set(shape.charts) - {"table"}
    for column in shape.header:
        assert f"<td>{column}</td>" in html  # a row of the Detected columns table
    assert 'id="query-rows"' in html
    # the five suggested questions, as the Ask next list (a bare count of <li> would also
    # count the metrics row)
    asked = re.search(r'<h2 id="prompts-h">Ask next</h2>\s*<ol>(.*?)</ol>', html, re.S)
    assert asked is not None
    items = [re.sub(r" <span.*", "", item) for item in re.findall(r"<li>(.*?)</li>", asked[1])]
    assert len(items) == 5
    assert items == [str(escape(p.text)) for p in insights.suggested_prompts]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("edit", "named"),
    [
        # an encoding this module never writes could smuggle SQL into read_csv(...)
        ({"encoding": "utf-8'); copy results to '/tmp/x.csv"}, "unknown format"),
        # a conversion is one of four known casts, never free SQL
        ({"conversions": {"cost": "drop table x"}}, "unknown conversions"),
        # a file that was deleted after the report was written
        ({"path": "/nonexistent/result.csv"}, "no longer there"),
    ],
)
def test_reopen_rejects_edited_read_options(
    tmp_path: Path, edit: dict[str, object], named: str
) -> None:
    _, path = _shape_file(tmp_path, "tagging correlation")
    _, _, read_options = _analyse([path])
    with pytest.raises(AnalyzeError, match=named):
        reopen([{**read_options[0], **edit}])
