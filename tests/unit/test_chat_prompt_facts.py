"""What the chat's SQL prompt tells the model of a report: its currency and providers as saved."""

from __future__ import annotations

import datetime as dt

from finops_agent.chat.model import BedrockChat, TableSpec
from finops_agent.reports.document import MoneyTotalRecord, ReportDocument, ReportWindow, Totals

TABLES = TableSpec(relations=("cost",), description="cost: canonical columns", rules="")


def _euro_report(providers: list[str]) -> ReportDocument:
    return ReportDocument(
        report_id="20261101T060000Z-abc123",
        kind="report",
        generated_at="2026-11-01T06:00:00+00:00",
        window=ReportWindow(start=dt.date(2026, 10, 1), end=dt.date(2026, 11, 1)),
        schema="focus",
        totals=Totals(rows=120, unblended_cost=4321.5, amortized_cost=4400.25),
        currency="EUR",
        providers=[MoneyTotalRecord(name=p) for p in providers],
    )


def _prompt_text(report: ReportDocument) -> str:
    prompt = BedrockChat(client=None).sql_prompt(report, "What did storage cost?", [], TABLES)  # type: ignore[arg-type]
    return prompt.system + "\n" + prompt.user


def test_a_euro_report_is_described_in_euros_with_its_providers() -> None:
    text = _prompt_text(_euro_report(["AWS", "Microsoft"]))
    assert "unblended total 4321.5 EUR" in text
    assert "amortised total 4400.25 EUR" in text
    assert "providers AWS, Microsoft" in text
    assert "USD" not in text
    assert "its AWS cost" not in text
