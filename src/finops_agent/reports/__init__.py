"""A report on disk: the typed report.json (`document`) and the reports folder (`folder`)."""

from finops_agent.reports.document import SCHEMA_VERSION, ReportDocument, ReportKind
from finops_agent.reports.folder import ReportEntry, ReportFolder

__all__ = ["SCHEMA_VERSION", "ReportDocument", "ReportEntry", "ReportFolder", "ReportKind"]
