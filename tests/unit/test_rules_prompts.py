"""The rule engine explains its prices and always offers five answerable follow-up prompts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from finops_agent.catalog import Catalog, load_catalog
from finops_agent.chat.guard import check_sql
from finops_agent.insights import query_rules
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.resources import queries_dir
from tests.unit.test_summarise_rules import GP2, _result, _summary


def test_savings_reasoning_states_the_pricing_assumption() -> None:
    (finding,) = RuleInsights().generate(_summary([_result("gp2_volumes", GP2)])).findings
    assert finding.reasoning.startswith("Sum of monthly_savings over 3 row(s) of gp2_volumes.")
    assert "gp3 is 20% cheaper per GB-month" in finding.reasoning


def test_a_report_without_findings_still_gets_five_prompts_that_pass_the_guard() -> None:
    # only a failed query: nothing to build prompts from but the SQL over `cost`
    summary = _summary([_result("spend_by_account_monthly", pd.DataFrame(), "failed")])
    prompts = RuleInsights().generate(summary).suggested_prompts
    assert len(prompts) == 5 and all(p.sql and not p.query for p in prompts)
    for prompt in prompts:
        assert prompt.sql is not None and check_sql(prompt.sql).note == ""


def _edited_catalog(tmp_path: Path) -> Catalog:
    """The project's catalog with gp2_volumes' finding reworded and the follow-ups re-ranked."""
    root = tmp_path / "queries"
    shutil.copytree(queries_dir(), root)
    raw = yaml.safe_load((root / "catalog.yaml").read_text(encoding="utf-8"))
    gp2 = raw["queries"]["gp2_volumes"]
    gp2["finding"].update(
        title="Retire {count} old volumes",
        action="Snapshot them, then switch the type.",
        effort="high",
        risk="medium",
        assumption="the whole gp2 charge, as a test says",
    )
    raw["queries"]["spend_by_account_monthly"]["follow_up"]["rank"] = 0
    (root / "catalog.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_catalog(root / "catalog.yaml")


def test_the_rule_engine_takes_its_wording_from_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = _edited_catalog(tmp_path)
    monkeypatch.setattr(query_rules, "load_catalog", lambda: edited)
    (finding,) = RuleInsights().generate(_summary([_result("gp2_volumes", GP2)])).findings
    assert (finding.title, finding.action, finding.effort, finding.risk) == (
        "Retire 3 old volumes",
        "Snapshot them, then switch the type.",
        "high",
        "medium",
    )
    assert finding.reasoning == (
        "Sum of monthly_savings over 3 row(s) of gp2_volumes. "
        "Each row: the whole gp2 charge, as a test says."
    )


def test_follow_up_questions_come_from_the_catalog_in_rank_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spend = pd.DataFrame({"account_name": ["prod"], "unblended_cost": [10.0]})
    daily = pd.DataFrame(
        {"usage_date": ["2026-10-01"], "service_name": ["Amazon S3"], "unblended_cost": [5.0]}
    )
    summary = _summary(
        [_result("spend_by_service_daily", daily), _result("spend_by_account_monthly", spend)]
    )
    texts = [p.text for p in RuleInsights().generate(summary).suggested_prompts[:2]]
    # the project's ranks: daily spend (6) before accounts (7); {top_service} filled in
    assert texts == [
        "How did daily spend on Amazon S3 move?",
        "Which accounts spent the most each month?",
    ]
    edited = _edited_catalog(tmp_path)
    monkeypatch.setattr(query_rules, "load_catalog", lambda: edited)
    texts = [p.text for p in RuleInsights().generate(summary).suggested_prompts[:2]]
    assert texts == [
        "Which accounts spent the most each month?",
        "How did daily spend on Amazon S3 move?",
    ]
