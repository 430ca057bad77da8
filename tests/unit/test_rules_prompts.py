"""The rule engine explains its prices and always offers five answerable follow-up prompts."""

from __future__ import annotations

import pandas as pd

from finops_agent.chat.guard import check_sql
from finops_agent.insights.query_rules import RuleInsights
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
