"""A chat on one report: questions become checked SQL over the report's own data, then answers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlglot
from pydantic import BaseModel, Field, ValidationError
from sqlglot import exp
from sqlglot.errors import SqlglotError

from finops_agent.catalog import load_catalog
from finops_agent.chat.answers import build_sql, sentence, stored_sentence
from finops_agent.chat.data import ChatData, CostData, open_data
from finops_agent.chat.guard import CheckedSql, UnsafeSqlError, check_sql
from finops_agent.chat.interpreter import Plan, Refusal, interpret, suggestions
from finops_agent.chat.model import BedrockChat, HistoryTurn, SqlReplyError, TableSpec
from finops_agent.chat.transcript import append_turn, load_report, load_transcript, update_turn
from finops_agent.chat.vocabulary import Vocabulary, load_vocabulary
from finops_agent.engines.base import QueryError
from finops_agent.formatting import money, number
from finops_agent.insights.base import ModelUsage, SuggestedPrompt, Ungrounded, add_usage
from finops_agent.insights.grounding import Evidence, check_text
from finops_agent.reports.document import ChatTurnRecord
from finops_agent.settings import Settings
from finops_agent.store.base import Interaction, InteractionStore, new_interaction_id
from finops_agent.store.recording import log_interaction, open_store
from finops_agent.summarise import json_value, records

__all__ = ["ChatSession", "ChatTurn", "QueryTimeoutError"]

log = logging.getLogger(__name__)

_TABLE_ROWS = 20
_STORED_ROWS = 50
_SQL_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
NEEDS_BEDROCK = (
    "Free-form questions need Bedrock (set FINOPS_INSIGHTS=bedrock and AWS credentials). "
    "Without it I can answer the suggested prompts (type their number) and SQL over the `cost` "
    "table (start with SELECT, or /sql in the chat)."
)


class QueryTimeoutError(QueryError):
    """A chat query ran longer than the chat timeout and was stopped."""


class ChatTurn(BaseModel):
    """One question and its answer, as kept in the transcript and the interaction log."""

    question: str
    answer: str
    sentence: str = Field(default="", description="the answer without its result table")
    mode: str = Field(description="sql, prompt, model, offline, refusal, help or error")
    sql: str | None = None
    columns: list[str] = Field(default_factory=list)
    rows: list[dict[str, Any]] = Field(default_factory=list)
    row_count: int = 0
    note: str = ""
    error: str | None = None
    ungrounded: list[Ungrounded] = Field(default_factory=list)
    usage: ModelUsage | None = None
    interaction_id: str = Field(default_factory=new_interaction_id)
    session_id: str = ""
    asked_at: str = Field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    rating: int | None = None
    rating_comment: str | None = None
    warnings: list[str] = Field(default_factory=list)
    elapsed_ms: float = Field(default=0.0, description="wall time of the whole exchange")


def looks_like_sql(text: str, relations: Iterable[str] = ("cost",)) -> bool:
    """True for `/sql …`, or a SELECT/WITH that parses and reads a relation (not English prose)."""
    names = {r.lower() for r in relations}
    if re.match(r"^\s*/sql\s", text, re.IGNORECASE):
        return True
    if not _SQL_START.match(text):
        return False
    try:
        statements = sqlglot.parse(text, read="athena")
    except SqlglotError:
        return False
    # "Select the services with most spend from last month" parses too, but reads no `cost`
    return any(
        t.name.lower() in names for tree in statements if tree for t in tree.find_all(exp.Table)
    )


def markdown_table(frame: pd.DataFrame, limit: int = _TABLE_ROWS) -> str:
    """A result as a markdown table (first `limit` rows), cells escaped for markdown."""
    if frame.empty:
        return "_The query returned no rows._"

    def cell(value: Any) -> str:
        value = json_value(value)
        if value is None:
            return ""
        if isinstance(value, float):
            value = number(value)
        text = str(value).replace("\\", "\\\\").replace("|", "\\|")
        return " ".join(text.split())

    head = [cell(c) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in frame.head(limit).itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(frame) > limit:
        lines.append(f"\n_First {limit} of {len(frame)} rows._")
    return "\n".join(lines)


# Columns that name a row best, most specific first.
_LABEL_COLUMNS = ("resource_id", "service_name", "account_name", "usage_type", "region")


def result_headline(frame: pd.DataFrame, measure: str | None, currency: str = "USD") -> str:
    """One sentence with a result's total and largest row on its money column (or nothing)."""
    if measure is None or measure not in frame.columns or frame.empty:
        return ""
    values = pd.to_numeric(frame[measure], errors="coerce")
    if values.isna().all():
        return ""
    top = frame.loc[values.abs().idxmax()]
    named = [c for c in _LABEL_COLUMNS if c in top.index]
    named += [c for c in top.index if c not in _LABEL_COLUMNS]
    texts = [str(top[c]) for c in named if isinstance(top[c], str) and top[c] and c != measure]
    labels = list(dict.fromkeys(texts))[:2]
    largest = (
        f"; largest: {' / '.join(labels)} at {money(float(values[top.name]), currency)}"
        if labels
        else ""
    )
    return f"Total {measure}: {money(float(values.sum()), currency)}{largest}."


@dataclass
class _Outcome:
    text: str
    mode: str
    sql: str | None = None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""
    error: str | None = None
    usage: ModelUsage | None = None
    ungrounded: list[Ungrounded] = field(default_factory=list)


class ChatSession:
    """Follow-up questions on one report, answered with SQL over the report's data and window."""

    def __init__(
        self,
        settings: Settings,
        report_id: str,
        *,
        store: InteractionStore | None = None,
        model: BedrockChat | None = None,
        session_id: str | None = None,
        record: bool = True,
    ) -> None:
        self.settings = settings
        self.output_dir = Path(settings.output_dir)
        self.report = load_report(self.output_dir, report_id)
        self.report_id = report_id
        self.store = store
        self.model = model
        self.session_id = session_id or new_interaction_id()
        self.record = record
        # a known session id continues that conversation: its turns are the model's history
        self.turns: list[ChatTurn] = []
        for saved in load_transcript(self.output_dir, report_id) if session_id else []:
            if saved.session_id == session_id:
                try:
                    self.turns.append(ChatTurn.model_validate(saved.model_dump()))
                except ValidationError:  # a turn from an older layout is no use as history
                    log.info("skipping an unreadable turn of session %s", session_id)
        self.warnings: list[str] = []
        self._data: ChatData | None = None
        self._vocabulary: Vocabulary | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, report_id: str, session_id: str | None = None
    ) -> ChatSession:
        """A session with the configured interaction log and, if configured, Bedrock."""
        store, warning = open_store(settings)
        model = BedrockChat.from_settings(settings) if settings.insights == "bedrock" else None
        session = cls(settings, report_id, store=store, model=model, session_id=session_id)
        if warning:
            session.warnings.append(warning)
        return session

    @property
    def prompts(self) -> list[SuggestedPrompt]:
        """The report's suggested prompts, numbered from 1 in the order shown."""
        return [
            SuggestedPrompt.model_validate(p.model_dump()) for p in self.report.suggested_prompts
        ]

    # --- the report's data -------------------------------------------------------------

    @property
    def data(self) -> ChatData:
        """The report's data, opened on first use (questions that need no SQL never open it)."""
        if self._data is None:
            self._data = open_data(self.report, self.settings)
        return self._data

    def _execute(self, name: str, call: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """Run `call()` (an engine query) with the chat timeout; stop it when time is up."""
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["frame"] = call()
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        worker = threading.Thread(target=target, name=f"chat-{name}", daemon=True)
        worker.start()
        worker.join(self.settings.chat_timeout_s)
        if worker.is_alive():
            self.data.interrupt()
            worker.join(5)
            raise QueryTimeoutError(
                f"query {name!r} ran longer than {self.settings.chat_timeout_s:g} s "
                "(FINOPS_CHAT_TIMEOUT_S) and was stopped"
            )
        if "error" in box:
            raise box["error"]
        frame: pd.DataFrame = box["frame"]
        return frame

    def run_sql(self, sql: str) -> tuple[CheckedSql, pd.DataFrame]:
        """Check SQL with the guard and run it on the report's data; raise UnsafeSqlError or QueryError."""
        data = self.data
        checked = check_sql(
            sql, allowed=data.relations, max_rows=self.settings.chat_max_rows, dialect=data.dialect
        )
        return checked, self._execute("chat", lambda: data.run(checked.sql))

    def _stored(self, name: str) -> tuple[str, pd.DataFrame]:
        data = self.data
        box: dict[str, str] = {}

        def call() -> pd.DataFrame:
            box["sql"], frame = data.run_stored(name)
            return frame

        frame = self._execute(name, call)
        return box["sql"], frame

    # --- answering ---------------------------------------------------------------------

    def _match_prompt(self, question: str) -> SuggestedPrompt | None:
        text = question.strip().rstrip("?").strip().lower()
        prompts = self.prompts
        if text.isdigit() and 1 <= int(text) <= len(prompts):
            return prompts[int(text) - 1]
        for prompt in prompts:
            if prompt.text.strip().rstrip("?").strip().lower() == text:
                return prompt
        return None

    def _answer_sql(self, sql: str) -> _Outcome:
        try:
            checked, frame = self.run_sql(sql)
        except (UnsafeSqlError, QueryError) as exc:
            return _Outcome(f"I could not run that SQL: {exc}", "error", sql=sql, error=str(exc))
        text = f"{len(frame)} row(s)" + (f" ({checked.note})" if checked.note else "") + "."
        money = [c for c in frame.columns if "cost" in str(c) or "saving" in str(c)]
        if len(frame) > 1 and money:
            text += " " + result_headline(frame, str(money[0]))
        return _Outcome(text, "sql", checked.sql, frame, checked.note)

    def _answer_prompt(self, prompt: SuggestedPrompt) -> _Outcome:
        if self.model is None and self.answers_offline:
            # a prompt the interpreter reads gets a sentence that answers it, not a table dump
            outcome = self._offline(prompt.text)
            if outcome.mode == "offline":
                return outcome
        if prompt.query:
            try:
                sql, frame = self._stored(prompt.query)
            except QueryError as exc:
                return _Outcome(
                    f"Stored query {prompt.query} failed: {exc}", "error", error=str(exc)
                )
            if self.model is not None:
                return self._model_answer(prompt.text, sql, frame, mode="prompt")
            return _Outcome(self._stored_text(prompt.query, frame), "prompt", sql, frame)
        if prompt.sql:
            outcome = self._answer_sql(prompt.sql)
            if outcome.mode == "sql":
                outcome.mode = "prompt"
                if self.model is not None and outcome.sql is not None:
                    return self._model_answer(
                        prompt.text, outcome.sql, outcome.frame, outcome.note, mode="prompt"
                    )
            return outcome
        if self.model is not None:
            return self._answer_model(prompt.text)
        return _Outcome(NEEDS_BEDROCK, "help")

    # --- the offline interpreter ----------------------------------------------------------

    @property
    def answers_offline(self) -> bool:
        """True for billing reports: their questions can be read without a model."""
        return self.report.file is None and self.report.window is not None

    @property
    def vocabulary(self) -> Vocabulary:
        """The report data's names and days, read once per session."""
        if self._vocabulary is None:
            data = self.data
            assert isinstance(data, CostData)
            keys = self.report.tag_keys or self.settings.tag_keys
            self._vocabulary = load_vocabulary(
                data.run, list(keys), (data.window.start, data.window.end)
            )
        return self._vocabulary

    def _offline(self, question: str) -> _Outcome:
        """The interpreter's answer: a sentence from checked SQL's result, or a refusal."""
        vocab = self.vocabulary
        reading = interpret(question, vocab)
        if isinstance(reading, Refusal):
            return _Outcome(self._refusal_text(question, reading), "refusal")
        return self._run_plan(reading)

    def _refusal_text(self, question: str, refusal: Refusal) -> str:
        text = refusal.reason
        if refusal.understood:
            text += f" I understood: {refusal.understood}."
        if refusal.kind in ("unclear", "data"):
            closest = suggestions(question, self.vocabulary)
            text += " Questions I can answer: " + " ".join(
                f"({i}) {q}" for i, q in enumerate(closest, start=1)
            )
        return text

    def _stored_text(self, name: str, frame: pd.DataFrame) -> str:
        """A stored query's answer: its own sentence, else its description and headline."""
        spec = load_catalog().queries[name]
        told = stored_sentence(name, spec.title, frame, self.report.currency)
        if told is not None:
            return told
        text = f"From the stored query **{spec.title}** ({len(frame)} rows): {spec.description}"
        measure = "monthly_savings" if "monthly_savings" in frame.columns else spec.cost_column
        return f"{text} {result_headline(frame, measure, self.report.currency)}".strip()

    def _run_plan(self, plan: Plan) -> _Outcome:
        if plan.stored is not None:
            sql, frame = self._stored(plan.stored)
            return _Outcome(self._stored_text(plan.stored, frame), "offline", sql, frame)
        checked, frame = self.run_sql(build_sql(plan))
        return _Outcome(
            sentence(plan, frame, self.report.currency), "offline", checked.sql, frame, checked.note
        )

    def _history(self) -> list[HistoryTurn]:
        return [HistoryTurn(t.question, t.sql, t.answer) for t in self.turns if t.mode != "help"]

    def _model_answer(
        self,
        question: str,
        sql: str,
        frame: pd.DataFrame,
        note: str = "",
        usage: ModelUsage | None = None,
        mode: str = "model",
    ) -> _Outcome:
        """The model's answer from a result, its figures grounded in the result and totals."""
        assert self.model is not None
        text, seen, usage = self.model.answer(question, sql, frame, self._history(), usage)
        evidence = Evidence.from_context(
            [seen, records(frame)], [self.report.totals.unblended_cost]
        )
        flagged = check_text(text, evidence, where="chat answer")
        return _Outcome(text, mode, sql, frame, note, usage=usage, ungrounded=flagged)

    def _answer_with_model(self, question: str) -> _Outcome:
        """The model's answer, given the interpreter's reading first; the interpreter's on failure."""
        offline: _Outcome | None = None
        if self.answers_offline:
            try:
                offline = self._offline(question)
            except Exception as exc:  # the model still gets the question without the hint
                log.info("offline reading of %r failed: %s", question, exc)
        hint = ""
        if offline is not None and offline.mode == "offline":
            hint = (
                f"An offline interpreter answered: {offline.text}\nIts SQL: {offline.sql}\n"
                "Use that SQL when it answers the question; write better SQL when it does not."
            )
        try:
            outcome = self._answer_model(question, hint)
        except (
            Exception
        ) as exc:  # an outage, throttling or a broken reply: the offline answer stands
            if offline is None or offline.mode != "offline":
                raise
            offline.note = f"Bedrock failed ({exc}); answered offline"
            return offline
        if outcome.mode == "error" and offline is not None and offline.mode == "offline":
            offline.note = f"Bedrock failed ({outcome.error}); answered offline"
            return offline
        return outcome

    def _answer_model(self, question: str, hint: str = "") -> _Outcome:
        assert self.model is not None
        history = self._history()
        usage: ModelUsage | None = None
        previous: tuple[str, str] | None = None
        for attempt in (1, 2):  # one repair: the guard's or the engine's error goes back
            try:
                plan, call_usage = self.model.write_sql(
                    self.report, question, history, self._tables(), previous=previous, hint=hint
                )
            except SqlReplyError as exc:
                usage = add_usage(usage, exc.usage)
                previous = (exc.reply, str(exc))
                continue
            usage = add_usage(usage, call_usage)
            if plan.sql is None:
                return _Outcome(
                    plan.explanation or "I cannot answer that from the cost data.",
                    "model",
                    usage=usage,
                )
            try:
                checked, frame = self.run_sql(plan.sql)
            except (UnsafeSqlError, QueryError) as exc:
                previous = (json.dumps({"sql": plan.sql}), str(exc))
                if attempt == 2:
                    return _Outcome(
                        f"The model's SQL could not run: {exc}",
                        "error",
                        sql=plan.sql,
                        error=str(exc),
                        usage=usage,
                    )
                continue
            return self._model_answer(question, checked.sql, frame, checked.note, usage)
        return _Outcome(
            f"The model did not reply with usable SQL: {previous[1] if previous else ''}",
            "error",
            error=previous[1] if previous else "no reply",
            usage=usage,
        )

    def ask(self, question: str) -> ChatTurn:
        """Answer one question (SQL, a suggested prompt, or free text); log and record it."""
        question = question.strip()
        if not question:
            raise ValueError("empty question")
        started = time.perf_counter()
        try:
            if looks_like_sql(question, self.relations):
                question = re.sub(r"^\s*/sql\s+", "", question, flags=re.IGNORECASE)
                outcome = self._answer_sql(question)
            elif (prompt := self._match_prompt(question)) is not None:
                question = prompt.text
                outcome = self._answer_prompt(prompt)
            elif self.model is not None:
                outcome = self._answer_with_model(question)
            elif self.answers_offline:
                outcome = self._offline(question)
            else:
                outcome = _Outcome(NEEDS_BEDROCK, "help")
        except Exception as exc:  # a broken source or a model outage still yields an answer
            log.warning("chat on %s failed: %s", self.report_id, exc)
            outcome = _Outcome(f"Sorry, that failed: {exc}", "error", error=str(exc))
        return self._finish(question, outcome, (time.perf_counter() - started) * 1000)

    def _tables(self) -> TableSpec:
        data = self.data
        return TableSpec(tuple(sorted(data.relations)), data.describe(), data.rules())

    @property
    def relations(self) -> frozenset[str]:
        """The relations this report's SQL may read, known without opening the data."""
        return self.report.relations

    def _finish(self, question: str, outcome: _Outcome, elapsed_ms: float) -> ChatTurn:
        answer = outcome.text
        if outcome.sql is not None and outcome.mode != "error":
            answer += "\n\n" + markdown_table(outcome.frame)
        turn = ChatTurn(
            question=question,
            answer=answer,
            sentence=outcome.text,
            mode=outcome.mode,
            sql=outcome.sql,
            columns=[str(c) for c in outcome.frame.columns],
            rows=records(outcome.frame, _STORED_ROWS),
            row_count=len(outcome.frame),
            note=outcome.note,
            error=outcome.error,
            ungrounded=outcome.ungrounded,
            usage=outcome.usage,
            session_id=self.session_id,
            elapsed_ms=round(elapsed_ms, 1),
        )
        self.turns.append(turn)
        warning = log_interaction(self.store, self._interaction(turn))
        if warning:
            turn.warnings.append(warning)
        if self.record:
            try:
                record = ChatTurnRecord.model_validate(turn.model_dump(mode="json"))
                append_turn(self.output_dir, self.report_id, record)
            except (OSError, ValueError) as exc:  # the answer still reaches the user
                turn.warnings.append(f"transcript not saved: {exc}")
        return turn

    def _interaction(self, turn: ChatTurn) -> Interaction:
        usage = turn.usage
        return Interaction(
            kind="chat",
            user_query=turn.question,
            agent_response=turn.answer,
            report_id=self.report_id,
            session_id=self.session_id,
            data_context={
                "mode": turn.mode,
                "sql": turn.sql,
                "columns": turn.columns,
                "rows": turn.row_count,
                "window": self.report.window.model_dump(mode="json")
                if self.report.window
                else None,
                "ungrounded": [u.number for u in turn.ungrounded],
            },
            model=usage.model if usage else ("bedrock" if self.model else "rules"),
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            # what the user waited for: model calls and queries together
            latency_ms=turn.elapsed_ms,
            cost_usd=usage.cost_usd if usage else 0.0,
            error=turn.error,
            interaction_id=turn.interaction_id,
        )

    def rate(
        self, good: bool, comment: str | None = None, interaction_id: str | None = None
    ) -> str:
        """Rate the last answer (or the one given) good or bad; return the interaction id."""
        if interaction_id is None:
            if not self.turns:
                raise ValueError("nothing to rate yet: ask a question first")
            interaction_id = self.turns[-1].interaction_id
        rating = 1 if good else -1
        if self.store is None:
            raise RuntimeError("the interaction log is unavailable; the rating was not stored")
        self.store.rate(interaction_id, rating, comment)
        for turn in self.turns:
            if turn.interaction_id == interaction_id:
                turn.rating, turn.rating_comment = rating, comment
        if self.record:
            update_turn(
                self.output_dir,
                self.report_id,
                interaction_id,
                rating=rating,
                rating_comment=comment,
            )
        return interaction_id

    def close(self) -> None:
        """Close the engine if a question opened it."""
        if self._data is not None:
            self._data.close()
            self._data = None
