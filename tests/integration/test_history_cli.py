"""`finops history` shows what reports and chat logged; export round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_agent.cli import app
from finops_agent.store.base import Interaction
from finops_agent.store.sqlite import SQLiteStore

runner = CliRunner()


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Interaction]:
    monkeypatch.setenv("FINOPS_SQLITE_PATH", str(tmp_path / "log.sqlite"))
    store = SQLiteStore(tmp_path / "log.sqlite")
    items = [
        Interaction(
            kind="insight",
            user_query="insights for report r1",
            agent_response="## Summary",
            report_id="r1",
            session_id="r1",
            latency_ms=1200,
            model="rules",
        ),
        Interaction(
            kind="chat",
            user_query="which gp2 volumes?",
            agent_response="vol-1",
            report_id="r1",
            session_id="s9",
            latency_ms=300,
            rating=1,
        ),
        Interaction(
            kind="chat",
            user_query="which gp2 volumes?",
            agent_response="vol-1",
            report_id="r2",
            session_id="s9",
            latency_ms=500,
            error="timeout",
        ),
    ]
    for item in items:
        store.put(item)
    return items


def test_history_lists_by_session_and_stats_summarise(logged: list[Interaction]) -> None:
    listing = runner.invoke(app, ["history", "--session", "s9"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.count("which gp2") == 2 and "insights for report" not in listing.output
    stats = runner.invoke(app, ["history", "stats"])
    assert stats.exit_code == 0, stats.output
    assert "3 interactions" in stats.output
    assert "33.3%" in stats.output  # one of three had an error
    assert "2× which gp2 volumes?" in stats.output


def test_export_jsonl_round_trips(logged: list[Interaction], tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["history", "export", "--format", "jsonl", "--out", str(target)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert {r["interaction_id"] for r in rows} == {i.interaction_id for i in logged}
    csv_out = runner.invoke(app, ["history", "export", "--format", "csv"])
    assert csv_out.output.splitlines()[0].startswith("kind,user_query,agent_response")
    assert len(csv_out.output.strip().splitlines()) == 4
