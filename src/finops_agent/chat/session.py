"""A chat on one report: questions become checked SQL over the report's own data, then answers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from finops_agent.catalog import load_catalog
from finops_agent.chat.guard import CheckedSql, UnsafeSqlError, check_sql
from finops_agent.chat.model import BedrockChat, HistoryTurn, SqlReplyError
from finops_agent.chat.transcript import append_turn, load_report, update_turn
from finops_agent.engines.base import QueryError
from finops_agent.execution import run_query
from finops_agent.insights.base import ModelUsage, SuggestedPrompt, Ungrounded
from finops_agent.insights.bedrock import add_usage
from finops_agent.insights.grounding import Evidence, check_text
from finops_agent.pipeline import PreparedRun, log_interaction, open_store, prepare_run
from finops_agent.settings import Settings
from finops_agent.store.base import Interaction, InteractionStore, new_interaction_id
from finops_agent.summarise import json_value, records

__all__ = ["ChatSession", "ChatTurn", "QueryTimeoutError"]

log = logging.getLogger(__name__)

_TABLE_ROWS = 20
_STORED_ROWS = 50
_SQL_START = re.compile(r"^\s*(/sql\s+)?(select|with)\b", re.IGNORECASE)
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
    mode: str = Field(description="sql, prompt, model, help or error")
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


def markdown_table(frame: pd.DataFrame, limit: int = _TABLE_ROWS) -> str:
    """A result as a markdown table (first `limit` rows), cells escaped for markdown."""
    if frame.empty:
        return "_The query returned no rows._"

    def cell(value: Any) -> str:
        value = json_value(value)
        if value is None:
            return ""
        if isinstance(value, float):
            value = f"{value:,.2f}"
        text = str(value).replace("\\", "\\\\").replace("|", "\\|")
        return " ".join(text.split())

    head = [cell(c) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in frame.head(limit).itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(frame) > limit:
        lines.append(f"\n_First {limit} of {len(frame)} rows._")
    return "\n".join(lines)


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
        self.turns: list[ChatTurn] = []
        self.warnings: list[str] = []
        self._run: PreparedRun | None = None

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
        return [SuggestedPrompt(**p) for p in self.report.get("suggested_prompts", [])]

    # --- the report's data -------------------------------------------------------------

    def _engine_run(self) -> PreparedRun:
        if self._run is None:
            report = self.report
            settings = self.settings.model_copy(
                update={
                    "engine": report.get("engine", self.settings.engine),
                    "tag_keys": report.get("tag_keys", self.settings.tag_keys),
                }
            )
            self._run = prepare_run(
                settings,
                source=report.get("source_path") or report.get("source"),
                schema=report.get("schema", "auto"),
                families=report.get("families") or None,
                start=report["window"]["start"],
                end=report["window"]["end"],
            )
        return self._run

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
            interrupt = getattr(self._engine_run().engine, "interrupt", None)
            if callable(interrupt):
                interrupt()
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
        """Check SQL with the guard and run it over `cost`; raise UnsafeSqlError or QueryError."""
        checked = check_sql(sql, max_rows=self.settings.chat_max_rows)
        run = self._engine_run()
        frame = self._execute(
            "chat", lambda: run.engine.execute("chat", checked.sql, run.params).frame
        )
        return checked, frame

    def _stored(self, name: str) -> pd.DataFrame:
        spec = load_catalog().queries.get(name)
        if spec is None:
            raise QueryError(f"stored query {name!r} is not in the catalog")
        run = self._engine_run()
        saved = self.report.get("queries", {}).get(name, {}).get("params", {})
        params = {**{k: v for k, v in saved.items() if k not in run.params}, **run.params}

        def call() -> pd.DataFrame:
            result = run_query(run.engine, spec, params)
            if not result.ok:
                raise QueryError(result.error or f"query {name!r} failed")
            return result.frame

        return self._execute(name, call)

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
        return _Outcome(text, "sql", checked.sql, frame, checked.note)

    def _answer_prompt(self, prompt: SuggestedPrompt) -> _Outcome:
        if prompt.query:
            try:
                frame = self._stored(prompt.query)
            except QueryError as exc:
                return _Outcome(
                    f"Stored query {prompt.query} failed: {exc}", "error", error=str(exc)
                )
            spec = load_catalog().queries[prompt.query]
            text = f"From the stored query **{spec.title}** ({len(frame)} rows): {spec.description}"
            return _Outcome(text, "prompt", spec.sql, frame)
        if prompt.sql:
            outcome = self._answer_sql(prompt.sql)
            if outcome.mode == "sql":
                outcome.mode = "prompt"
            return outcome
        if self.model is not None:
            return self._answer_model(prompt.text)
        return _Outcome(NEEDS_BEDROCK, "help")

    def _history(self) -> list[HistoryTurn]:
        return [HistoryTurn(t.question, t.sql, t.answer) for t in self.turns if t.mode != "help"]

    def _answer_model(self, question: str) -> _Outcome:
        assert self.model is not None
        history = self._history()
        usage: ModelUsage | None = None
        previous: tuple[str, str] | None = None
        for attempt in (1, 2):  # one repair: the guard's or the engine's error goes back
            try:
                plan, call_usage = self.model.write_sql(
                    self.report, question, history, previous=previous
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
            text, seen, usage = self.model.answer(question, checked.sql, frame, history, usage)
            totals = self.report.get("totals", {})
            evidence = Evidence.from_context(
                [seen, records(frame)], [totals.get("unblended_cost") or 0.0]
            )
            return _Outcome(
                text,
                "model",
                checked.sql,
                frame,
                checked.note,
                usage=usage,
                ungrounded=check_text(text, evidence, where="chat answer"),
            )
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
        try:
            if _SQL_START.match(question):
                question = re.sub(r"^\s*/sql\s+", "", question)
                outcome = self._answer_sql(question)
            elif (prompt := self._match_prompt(question)) is not None:
                question = prompt.text
                outcome = self._answer_prompt(prompt)
            elif self.model is not None:
                outcome = self._answer_model(question)
            else:
                outcome = _Outcome(NEEDS_BEDROCK, "help")
        except Exception as exc:  # a broken source or a model outage still yields an answer
            log.warning("chat on %s failed: %s", self.report_id, exc)
            outcome = _Outcome(f"Sorry, that failed: {exc}", "error", error=str(exc))
        return self._finish(question, outcome)

    def _finish(self, question: str, outcome: _Outcome) -> ChatTurn:
        answer = outcome.text
        if outcome.sql is not None and outcome.mode != "error":
            answer += "\n\n" + markdown_table(outcome.frame)
        turn = ChatTurn(
            question=question,
            answer=answer,
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
        )
        self.turns.append(turn)
        warning = log_interaction(self.store, self._interaction(turn))
        if warning:
            turn.warnings.append(warning)
        if self.record:
            try:
                append_turn(self.output_dir, self.report_id, turn.model_dump(mode="json"))
            except OSError as exc:  # the answer still reaches the user
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
                "window": self.report.get("window"),
                "ungrounded": [u.number for u in turn.ungrounded],
            },
            model=usage.model if usage else ("bedrock" if self.model else "rules"),
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            latency_ms=usage.latency_ms if usage else 0.0,
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
        if self._run is not None:
            self._run.engine.close()
            self._run = None
