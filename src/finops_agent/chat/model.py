"""Chat with Bedrock: the model writes SQL over `cost`, then answers from the result it gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from finops_agent.insights.base import ModelUsage, add_usage
from finops_agent.insights.prompts import (
    SYSTEM_ROLE,
    Prompt,
    compact_json,
    cuts_note,
    fit,
    shorten_text,
)
from finops_agent.insights.schema import ContractError, parse_json_object
from finops_agent.reports.document import ReportDocument
from finops_agent.settings import Settings
from finops_agent.summarise import records

if TYPE_CHECKING:
    # boto3 loads only when a model is configured: offline chat never pays for it
    from finops_agent.insights.bedrock import BedrockClient

__all__ = ["BedrockChat", "HistoryTurn", "SqlPlan", "SqlReplyError", "TableSpec"]

_HISTORY_TURNS = 5
_RESULT_ROWS = 50

SQL_CONTRACT = """Reply with ONE JSON object and nothing else:
{"sql": "one SELECT over the tables above", "explanation": "one sentence on what it computes"}
or, when the question cannot be answered from these tables at all:
{"sql": null, "answer": "why not, in one or two sentences"}"""


@dataclass(frozen=True)
class HistoryTurn:
    """An earlier exchange of the session, given to the model for follow-up questions."""

    question: str
    sql: str | None
    answer: str


@dataclass(frozen=True)
class TableSpec:
    """What the model may query: relation names, their columns, and dialect hints."""

    relations: tuple[str, ...]
    description: str
    rules: str


@dataclass(frozen=True)
class SqlPlan:
    """What the model proposed: SQL to run, or a reason there is none."""

    sql: str | None
    explanation: str


def _history(turns: Sequence[HistoryTurn], dropped: int, limit: int) -> str:
    kept = list(turns)[-_HISTORY_TURNS:][dropped:]
    if not kept:
        return "No earlier questions in this session."
    lines = ["Earlier in this session (oldest first):"]
    for turn in kept:
        answer, _ = shorten_text(turn.answer, limit)
        lines.append(f"- Q: {turn.question}\n  SQL: {turn.sql or '(none)'}\n  A: {answer}")
    return "\n".join(lines)


def _report_facts(report: ReportDocument) -> str:
    window = report.window
    totals = report.totals
    providers = ", ".join(p.name for p in report.providers) or "AWS"
    return (
        f"Report {report.report_id}: billing window {window.start if window else None} to "
        f"{window.end if window else None} (end exclusive), schema {report.source_schema}, "
        f"providers {providers}, {totals.rows} line items, unblended total "
        f"{totals.unblended_cost} {report.currency}, amortised total {totals.amortized_cost} "
        f"{report.currency}; every amount in the data is in {report.currency}."
    )


class BedrockChat:
    """The two model steps of a chat answer: question to SQL, and result to answer."""

    def __init__(self, client: BedrockClient, *, token_budget: int = 8000, max_rows: int = 200):
        self.client = client
        self.token_budget = token_budget
        self.max_rows = max_rows

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockChat:
        """Chat on the configured Bedrock model and prompt budget."""
        from finops_agent.insights.bedrock import BedrockClient

        return cls(
            BedrockClient.from_settings(settings),
            token_budget=settings.prompt_token_budget,
            max_rows=settings.chat_max_rows,
        )

    @property
    def model_id(self) -> str:
        """The model or inference profile answering."""
        return self.client.model_id

    def sql_prompt(
        self,
        report: ReportDocument,
        question: str,
        history: Sequence[HistoryTurn],
        tables: TableSpec,
        hint: str = "",
    ) -> Prompt:
        """The SQL-writing prompt: tables, window, rules, recent turns, a hint, question, contract."""
        system = (
            SYSTEM_ROLE + " In this conversation you answer follow-up questions about one report "
            "by writing SQL that the application runs for you."
        )
        names = ", ".join(f"`{r}`" for r in tables.relations)

        def build(_rows: int, limit: int, dropped: int) -> Prompt:
            cuts = [f"{dropped} earlier turn(s) left out"] if dropped else []
            text = "\n\n".join(
                [
                    _report_facts(report),
                    tables.description,
                    f"SQL rules: {tables.rules}; exactly one SELECT; read only {names} (CTEs "
                    "you define are fine, none named like those); no other tables, no file or "
                    "system functions, no parameters (write literal values); at most "
                    f"{self.max_rows} rows (a LIMIT is enforced); round money to 2 decimals.",
                    _history(history, dropped, limit),
                    cuts_note(cuts),
                    *([hint] if hint else []),
                    f"Question: {question}",
                    SQL_CONTRACT,
                ]
            )
            return Prompt(system, text, None, cuts)

        return fit(build, self.token_budget, max_rows=0, droppable=_HISTORY_TURNS)

    def write_sql(
        self,
        report: ReportDocument,
        question: str,
        history: Sequence[HistoryTurn],
        tables: TableSpec,
        *,
        previous: tuple[str, str] | None = None,
        hint: str = "",
    ) -> tuple[SqlPlan, ModelUsage]:
        """Ask for SQL; `previous` (reply, error) turns the call into the one repair attempt."""
        from finops_agent.insights.bedrock import assistant, user

        prompt = self.sql_prompt(report, question, history, tables, hint)
        messages = [user(prompt.user)]
        if previous is not None:
            reply_text, error = previous
            messages += [
                assistant(reply_text),
                user(
                    f"That did not work: {error}. Reply again with only the corrected JSON object."
                ),
            ]
        reply = self.client.converse(prompt.system, messages)
        try:
            data = parse_json_object(reply.text)
        except ContractError as exc:
            raise SqlReplyError(reply.text, str(exc), reply.usage) from None
        sql = data.get("sql")
        if sql is not None and not isinstance(sql, str):
            raise SqlReplyError(reply.text, "'sql' must be a string or null", reply.usage)
        explanation = str(data.get("explanation") or data.get("answer") or "")
        return SqlPlan(sql.strip() if sql else None, explanation), reply.usage

    def answer_prompt(
        self, question: str, sql: str, frame: pd.DataFrame, history: Sequence[HistoryTurn]
    ) -> Prompt:
        """The answering prompt: the question, the SQL that ran and its result as JSON."""
        total_rows = len(frame)

        def build(rows: int, limit: int, dropped: int) -> Prompt:
            shown = min(rows, total_rows)
            result, shortened = shorten_text(
                {"columns": list(frame.columns), "rows": records(frame, rows)}, limit
            )
            cuts = []
            if shown < total_rows:
                cuts.append(f"the result shows {shown} of {total_rows} rows")
            if shortened:
                cuts.append(f"text values shortened to {limit} characters")
            if dropped:
                cuts.append(f"{dropped} earlier turn(s) left out")
            text = "\n\n".join(
                [
                    _history(history, dropped, limit),
                    f"Question: {question}",
                    f"SQL that ran over `cost`:\n{sql}",
                    cuts_note(cuts),
                    f"Result ({total_rows} rows, JSON):\n{compact_json(result)}",
                    "Answer the question from this result in a few sentences of markdown. Quote "
                    "figures exactly as they appear in the result (rounding is fine); do not "
                    "repeat the whole table; say so if the result cannot answer the question.",
                ]
            )
            return Prompt(SYSTEM_ROLE, text, result, cuts)

        return fit(build, self.token_budget, max_rows=_RESULT_ROWS, droppable=_HISTORY_TURNS)

    def answer(
        self,
        question: str,
        sql: str,
        frame: pd.DataFrame,
        history: Sequence[HistoryTurn],
        usage: ModelUsage | None = None,
    ) -> tuple[str, Any, ModelUsage]:
        """The model's markdown answer, the result context it saw, and the usage so far."""
        from finops_agent.insights.bedrock import user

        prompt = self.answer_prompt(question, sql, frame, history)
        reply = self.client.converse(prompt.system, [user(prompt.user)])
        return reply.text.strip(), prompt.context, add_usage(usage, reply.usage)


class SqlReplyError(ValueError):
    """The model's SQL reply was not the JSON asked for; keeps the reply for the repair."""

    def __init__(self, reply: str, reason: str, usage: ModelUsage) -> None:
        super().__init__(reason)
        self.reply = reply
        self.usage = usage
