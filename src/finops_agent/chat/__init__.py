"""Chat on a report: checked SQL over the report's data, answered with or without Bedrock."""

from finops_agent.chat.guard import CheckedSql, UnsafeSqlError, check_sql
from finops_agent.chat.session import ChatSession, ChatTurn
from finops_agent.reports.folder import InvalidReportIdError, ReportNotFoundError

__all__ = [
    "ChatSession",
    "ChatTurn",
    "CheckedSql",
    "InvalidReportIdError",
    "ReportNotFoundError",
    "UnsafeSqlError",
    "check_sql",
]
