"""report-chat: answer one question about a report; the answer becomes a markdown artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from finops_agent.chat.session import ChatSession, ChatTurn
from finops_agent.reports.folder import latest_report_id
from finops_agent.settings import load_settings

# what a manual run from the UI asks when nobody typed a question
DEFAULT_QUESTION = "Which services cost the most?"


@task(name="answer-question", cache_policy=NO_CACHE)
def answer_question(session: ChatSession, question: str) -> ChatTurn:
    """Answer with SQL over the report's data; log and append it to the transcript."""
    return session.ask(question)


def artifact_markdown(report_id: str, turn: ChatTurn) -> str:
    """The artifact body: question, answer with its table, and the SQL that produced it."""
    parts = [f"## {turn.question}", f"_Report {report_id}, session {turn.session_id}_", turn.answer]
    if turn.sql:
        parts.append(f"```sql\n{turn.sql}\n```")
    if turn.ungrounded:
        parts.append("**Not found in the data:** " + ", ".join(u.number for u in turn.ungrounded))
    return "\n\n".join(parts)


@flow(name="report-chat", log_prints=True)
def report_chat(
    report_id: str | None = None,
    question: str = DEFAULT_QUESTION,
    output_dir: str | None = None,
    session_id: str | None = None,
) -> str:
    """Answer `question` about report `report_id` (continuing `session_id` if given).

    Args:
        report_id: The report to ask about (default: the newest complete report).
        question: A question about its data, answered with SQL over the same data.
        output_dir: Folder holding the reports (default: FINOPS_OUTPUT_DIR).
        session_id: Continue this chat session (default: a new one).
    """
    settings = load_settings(output_dir=output_dir)
    report_id = report_id or latest_report_id(Path(settings.output_dir))
    print(f"asking report {report_id}: {question}")
    session = ChatSession.from_settings(settings, report_id, session_id)
    try:
        turn = answer_question(session, question)
    finally:
        session.close()
    create_markdown_artifact(
        key=f"chat-{report_id.lower().replace('_', '-').replace('.', '-')}",
        markdown=artifact_markdown(report_id, turn),
        description=f"Answer to a question about report {report_id}",
    )
    return turn.answer
