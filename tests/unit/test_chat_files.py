"""Chat on an analysed file's report: its `results` views are rebuilt from report.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finops_agent.analyze.dataset import open_workspace
from finops_agent.analyze.file_rules import FileRuleInsights
from finops_agent.analyze.run import analyse_workspace, file_insights, render
from finops_agent.chat.session import ChatSession
from finops_agent.settings import load_settings
from tests.analyze_shapes import SHAPES
from tests.support.memstore import MemoryStore

REPORT_ID = "20261124T120000Z-f11e00"


@pytest.fixture
def file_report(tmp_path: Path) -> Path:
    """A report.json shaped like analyze-file's: read options, datasets and SQL prompts."""
    data = tmp_path / "costs.csv"
    data.write_text("team,cost\nsearch,120.5\ncheckout,80\nsearch,30\n")
    read_options = [{"path": str(data), "format": "csv", "encoding": "utf-8", "conversions": {}}]
    folder = tmp_path / "reports" / REPORT_ID
    folder.mkdir(parents=True)
    report = {
        "report_id": REPORT_ID,
        "schema": "file",
        "engine": "duckdb",
        "source": "costs.csv",
        "totals": {"unblended_cost": 230.5},
        "file": {
            "read_options": read_options,
            "datasets": [{"view": "results", "label": "costs.csv"}],
        },
        "suggested_prompts": [
            {
                "text": "Which team costs most?",
                "sql": "select team, sum(cost) as cost from results group by 1 order by 2 desc",
            }
        ],
        "chat": [],
    }
    (folder / "report.json").write_text(json.dumps(report))
    (folder / "report.html").write_text("<main><!-- finops:chat -->\n<!-- /finops:chat --></main>")
    return tmp_path / "reports"


def test_sql_and_prompts_run_on_the_results_view(file_report: Path) -> None:
    settings = load_settings(output_dir=file_report)
    chat = ChatSession(settings, REPORT_ID, store=MemoryStore())
    try:
        assert chat.relations == frozenset({"results"})
        prompt = chat.ask("1")
        # search 120.5 + 30, checkout 80: both teams, most expensive first
        assert prompt.mode == "prompt" and prompt.rows == [
            {"team": "search", "cost": 150.5},
            {"team": "checkout", "cost": 80.0},
        ]
        # DuckDB dialect: the file's own SQL runs as written, with a LIMIT added
        direct = chat.ask('select count(*) as "n" from results')
        assert direct.rows == [{"n": 3}] and direct.sql is not None and "LIMIT 200" in direct.sql
        # a billing report's relation does not exist here, and the guard says what does
        refused = chat.ask("select * from cost")
        assert refused.mode in ("error", "help")
        refused = chat.ask("/sql select * from cost")
        assert "'cost' is not allowed; query results" in (refused.error or "")
    finally:
        chat.close()
    # the exchanges land in the transcript file; report.html stays as written
    transcript = json.loads((file_report / REPORT_ID / "transcript.json").read_text())
    assert next(t["question"] for t in transcript) == "Which team costs most?"
    html = (file_report / REPORT_ID / "report.html").read_text()
    assert html == "<main><!-- finops:chat -->\n<!-- /finops:chat --></main>"
    # report.json is left as written too (version 1 here; it is migrated when read)
    saved = json.loads((file_report / REPORT_ID / "report.json").read_text())
    assert ("schema_version" in saved, saved["chat"]) == (False, [])


def test_missing_analysed_file_is_an_answer_naming_it(file_report: Path, tmp_path: Path) -> None:
    (tmp_path / "costs.csv").unlink()
    chat = ChatSession(load_settings(output_dir=file_report), REPORT_ID, record=False)
    turn = chat.ask("select * from results")
    assert turn.mode == "error" and "cannot reopen the analysed file" in (turn.error or "")
    chat.close()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_prompt_of_a_real_analysed_file_passes_the_guard_and_runs(
    tmp_path: Path, shape: str
) -> None:
    path = SHAPES[shape]().write(tmp_path / "in")
    settings = load_settings(output_dir=tmp_path / "reports", home=tmp_path / "home")
    workspace = open_workspace([str(path)])
    try:
        summary = analyse_workspace(workspace, "auto", settings)
        insights = file_insights(FileRuleInsights(), summary)
        html = render(Path(settings.output_dir), workspace, summary, insights)
    finally:
        workspace.close()
    chat = ChatSession(settings, html.parent.name, store=MemoryStore())
    try:
        assert chat.prompts, "analysed reports offer prompts"
        for number, prompt in enumerate(chat.prompts, start=1):
            turn = chat.ask(str(number))
            assert turn.mode == "prompt", (prompt.text, turn.error)
            assert turn.row_count > 0
    finally:
        chat.close()
