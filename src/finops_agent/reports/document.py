"""report.json as one typed, versioned document: everything a report folder keeps about its run."""

from __future__ import annotations

import datetime as dt
import json
import math
import shlex
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from finops_agent.errors import UserError
from finops_agent.window import period_text

__all__ = [
    "SCHEMA_VERSION",
    "BillLineRecord",
    "BillRecord",
    "ChatTurnRecord",
    "DatasetRecord",
    "FileMeta",
    "FindingRecord",
    "InsightsRecord",
    "Metrics",
    "QueryMeta",
    "QueryRows",
    "ReadOption",
    "ReportDocument",
    "ReportDocumentError",
    "ReportKind",
    "ReportWindow",
    "SuggestedPromptRecord",
    "Totals",
    "UngroundedRecord",
    "UnsupportedVersionError",
    "UsageRecord",
    "load",
]

# 1: the layout before the version field (no `schema_version`, no `kind`); 2: this model
SCHEMA_VERSION: int = 2
ReportKind = Literal["report", "digest", "analysis"]
Level = Literal["low", "medium", "high"]


class ReportDocumentError(UserError, ValueError):
    """A report.json that cannot be read as a report; the message names the file."""


class UnsupportedVersionError(ReportDocumentError):
    """A report.json written by a newer (or unknown) finops-agent."""


class _Record(BaseModel):
    # a key this model does not know is a bug in the writer or a hand edit: say so on load
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReportWindow(_Record):
    """The billing window: first day and the day after the last (end exclusive)."""

    start: dt.date
    end: dt.date

    @property
    def period(self) -> str:
        """The period text of the report (see `window.period_text`)."""
        return period_text(self.start, self.end)

    @property
    def label(self) -> str:
        """Human label with the last day included, e.g. '2026-10-01 to 2026-10-31'."""
        return f"{self.start.isoformat()} to {(self.end - dt.timedelta(days=1)).isoformat()}"


class Totals(_Record):
    """Rounded totals of the window, as chat quotes them to the model."""

    rows: int = 0
    unblended_cost: float = 0.0
    amortized_cost: float = 0.0


class Metrics(_Record):
    """The metrics row at the top of the report."""

    rows: int = 0
    unblended_cost: float = 0.0
    amortized_cost: float = 0.0
    columns: int = 0
    analysis_type: str = ""
    accounts: int = 0
    services: int = 0
    days: int = 0
    change_pct: float | None = None
    findings: int = 0
    monthly_savings_usd: float = 0.0


class QueryMeta(_Record):
    """How one stored query ran: everything but its rows."""

    name: str
    family: str = ""
    title: str = ""
    status: str = "ok"
    rows: int = 0
    runtime_s: float = 0.0
    error: str | None = None
    sql: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    query_id: str | None = None
    bytes_scanned: int | None = None
    scan_cost_usd: float | None = None
    engine_time_s: float | None = None


class QueryRows(_Record):
    """The first rows of one query result; a row is whatever columns the query returned."""

    columns: list[str] = Field(default_factory=list)
    rows: list[dict[str, Any]] = Field(default_factory=list)
    truncated: bool = False


class FindingRecord(_Record):
    """One finding as saved: the money it is worth and what to do."""

    id: str
    family: str
    query: str
    title: str
    evidence: str
    monthly_savings_usd: float = Field(ge=0)
    effort: Level = "medium"
    risk: Level = "low"
    action: str
    resource_ids: list[str] = Field(default_factory=list)
    reasoning: str = ""


class UsageRecord(_Record):
    """Token use, latency and cost of one model call."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0


class UngroundedRecord(_Record):
    """A figure in model text that no number in the data supports."""

    number: str
    sentence: str
    where: str = "narrative"


class InsightsRecord(_Record):
    """Who wrote the narrative, the narrative, and what went wrong on the way."""

    provider: str = ""
    markdown: str = ""
    structured: bool = True
    warnings: list[str] = Field(default_factory=list)
    usage: UsageRecord | None = None
    ungrounded: list[UngroundedRecord] = Field(default_factory=list)


class SuggestedPromptRecord(_Record):
    """A follow-up question offered with the report."""

    text: str
    query: str | None = None
    sql: str | None = None


class ChatTurnRecord(_Record):
    """One chat exchange in the transcript."""

    question: str
    answer: str
    # the answer without its result table; turns saved before it existed keep their layout
    sentence: str = Field(default="", exclude_if=lambda value: not value)
    mode: str = ""
    sql: str | None = None
    columns: list[str] = Field(default_factory=list)
    rows: list[dict[str, Any]] = Field(default_factory=list)
    row_count: int = 0
    note: str = ""
    error: str | None = None
    ungrounded: list[UngroundedRecord] = Field(default_factory=list)
    usage: UsageRecord | None = None
    interaction_id: str = ""
    session_id: str = ""
    asked_at: str = ""
    rating: int | None = None
    rating_comment: str | None = None
    warnings: list[str] = Field(default_factory=list)
    elapsed_ms: float = 0.0


class ReadOption(_Record):
    """How one analysed file is read again (the analysis code validates it when reopening)."""

    path: str
    format: str = "csv"
    encoding: str = "utf-8"
    full_sample: bool = False
    conversions: dict[str, str] = Field(default_factory=dict)


class BillingExport(_Record):
    """An analysed file that is a raw billing export: its schema and the report commands for it."""

    # `schema` would shadow a BaseModel attribute; the file keeps the key `schema`
    export_schema: str = Field(alias="schema")
    commands: list[str] = Field(default_factory=list)


class DatasetRecord(_Record):
    """One dataset of an analysed file: its view, column roles and profile."""

    view: str
    label: str = ""
    files: list[str] = Field(default_factory=list)
    rows: int = 0
    cost: str | None = None
    group: str | None = None
    date: str | None = None
    roles: dict[str, str] = Field(default_factory=dict)
    # the profiler's and the signal code's own output, shown as they are
    profile: dict[str, Any] = Field(default_factory=dict)
    totals: dict[str, float | None] = Field(default_factory=dict)
    date_range: list[str] | None = None
    signals: dict[str, Any] = Field(default_factory=dict)
    billing_export: BillingExport | None = None


class FileMeta(_Record):
    """What an analysed file's report keeps so chat can reopen the files as views."""

    layout: str = "single"
    analysis_type: str = ""
    read_options: list[ReadOption] = Field(default_factory=list)
    views: list[str] = Field(default_factory=lambda: ["results"])
    datasets: list[DatasetRecord] = Field(default_factory=list)


class BillLineRecord(_Record):
    """One line of the bill waterfall."""

    key: str
    label: str
    amount: float


class BillRecord(_Record):
    """The bill from usage to net in one currency: its lines sum to the net total."""

    currency: str = "USD"
    lines: list[BillLineRecord] = Field(default_factory=list)
    usage_total: float = 0.0
    net_total: float = 0.0
    amortized_total: float = 0.0
    other_currencies: list[str] = Field(default_factory=list)


def currency_command(
    currency: str, *, engine: str, source: str, start: dt.date, end: dt.date
) -> str:
    """The `finops report` command that reports this window (and local source) in `currency`."""
    words = ["finops", "report", "--currency", currency]
    if engine == "duckdb":
        words += ["--source", source]
    words += ["--start", start.isoformat(), "--end", end.isoformat()]
    return shlex.join(words)


def report_title(providers: list[str]) -> str:
    """`AWS cost report` when AWS is the only provider known (or none is), else `Cloud cost report`."""
    return "AWS cost report" if providers in ([], ["AWS"]) else "Cloud cost report"


class MoneyTotalRecord(_Record):
    """One billing currency's (or one provider's) line items and net cost in the window."""

    name: str
    rows: int = 0
    unblended_cost: float = 0.0


class ReportDocument(_Record):
    """The whole report.json: written and read only through this model."""

    schema_version: int = SCHEMA_VERSION
    report_id: str
    kind: ReportKind = "report"
    generated_at: str = ""
    window: ReportWindow | None = None
    # `schema` would shadow a BaseModel attribute; the file keeps the key `schema`
    source_schema: str = Field(default="", alias="schema")
    engine: str = ""
    source: str = ""
    # chat re-opens a billing source from here, maybe from another working folder
    source_path: str | None = None
    families: list[str] = Field(default_factory=list)
    tag_keys: dict[str, list[str]] | None = None
    totals: Totals = Field(default_factory=Totals)
    metrics: Metrics = Field(default_factory=Metrics)
    # every amount above and below is in `currency` (reports written before it: USD);
    # `currencies` lists every one billed in the window, this one first, never added together,
    # and `providers` this currency's providers
    currency: str = "USD"
    currencies: list[MoneyTotalRecord] = Field(default_factory=list)
    providers: list[MoneyTotalRecord] = Field(default_factory=list)
    # the bill waterfall (absent in reports written before it) and what each basis means
    bill: BillRecord | None = None
    basis: dict[str, str] = Field(default_factory=dict)
    # first to last day with data, when shorter than the window asked for
    coverage: str | None = None
    queries: dict[str, QueryMeta] = Field(default_factory=dict)
    results: dict[str, QueryRows] = Field(default_factory=dict)
    findings: list[FindingRecord] = Field(default_factory=list)
    insights: InsightsRecord = Field(default_factory=InsightsRecord)
    suggested_prompts: list[SuggestedPromptRecord] = Field(default_factory=list)
    chat: list[ChatTurnRecord] = Field(default_factory=list)
    file: FileMeta | None = None

    @property
    def title(self) -> str:
        """The report's title: it claims AWS only when AWS is the only provider in it."""
        return report_title([p.name for p in self.providers])

    @property
    def other_currencies(self) -> list[MoneyTotalRecord]:
        """The currencies billed in the window that this report leaves out."""
        return [c for c in self.currencies if c.name != self.currency]

    def currency_command(self, currency: str) -> str:
        """The command that reports this report's window and source in `currency`."""
        if self.window is None:
            return f"finops report --currency {shlex.quote(currency)}"
        return currency_command(
            currency,
            engine=self.engine,
            source=self.source_path or self.source,
            start=self.window.start,
            end=self.window.end,
        )

    @property
    def relations(self) -> frozenset[str]:
        """The relations chat SQL may read: an analysed file's views, else `cost`."""
        if self.file is not None:
            return frozenset({"results", *(d.view for d in self.file.datasets if d.view)})
        return frozenset({"cost"})

    def to_json(self) -> str:
        """The document as report.json text."""
        return json.dumps(self.model_dump(by_alias=True), indent=1, default=_json_default)

    @classmethod
    def from_data(cls, data: Any, where: str) -> ReportDocument:
        """A document from parsed JSON of any supported version; errors name `where`."""
        if not isinstance(data, dict):
            raise ReportDocumentError(f"{where}: not a JSON object but {type(data).__name__}")
        version = data.get("schema_version", 1)
        if isinstance(version, bool) or version not in (1, SCHEMA_VERSION):
            raise UnsupportedVersionError(
                f"{where}: schema_version {version!r} is not supported "
                f"(this finops-agent reads versions 1 to {SCHEMA_VERSION})"
            )
        if version == 1:
            data = _from_v1(data)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "(document)"
            raise ReportDocumentError(
                f"{where}: {field}: {first['msg']} ({exc.error_count()} problem(s))"
            ) from None


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 report.json in the version-2 layout: add the version and the kind."""
    # version 1 knew two kinds: an analysed file carried `file`; a daily digest and a full
    # report looked the same, so both read as reports
    kind = "analysis" if isinstance(data.get("file"), dict) else "report"
    return {**data, "schema_version": SCHEMA_VERSION, "kind": data.get("kind", kind)}


def _json_default(value: Any) -> Any:
    # what pydantic's python-mode dump leaves that json cannot write: dates, numpy scalars
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item):
        value = item()
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return value
    return str(value)


def load(path: Path) -> ReportDocument:
    """Read a report.json of any supported version; raise ReportDocumentError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportDocumentError(f"{path} does not exist") from None
    except OSError as exc:
        raise ReportDocumentError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportDocumentError(f"{path} is not valid JSON: {exc}") from None
    return ReportDocument.from_data(data, str(path))
