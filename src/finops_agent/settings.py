"""Effective settings from the environment (prefix FINOPS_), a .env file and defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from finops_agent.identifiers import check_tag_key

DEFAULT_TAG_ALIASES: dict[str, list[str]] = {
    "owner": ["owner", "Owner", "team", "Team"],
    "project": ["project", "Project"],
    "cost_center": ["cost_center", "CostCenter", "costcenter"],
    "environment": ["environment", "Environment", "env", "Env"],
}

SchemaName = Literal["auto", "cur", "cur2", "focus"]


# --- insights-chat: per-model token prices ---
class ModelPrice(BaseModel):
    """On-demand price of a model in USD per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# Anthropic on Bedrock, on-demand list prices (USD per 1M input / output tokens).
DEFAULT_BEDROCK_PRICES: dict[str, ModelPrice] = {
    "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0),
    "claude-sonnet-4-6": ModelPrice(input=3.0, output=15.0),
    "claude-sonnet-4": ModelPrice(input=3.0, output=15.0),
    "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0),
    "claude-opus-4-5": ModelPrice(input=5.0, output=25.0),
    "claude-opus-4-6": ModelPrice(input=5.0, output=25.0),
    "claude-opus-4-1": ModelPrice(input=15.0, output=75.0),
}
# --- end insights-chat ---


class Settings(BaseSettings):
    """Every knob of finops-agent; read with `load_settings()`, never at import time."""

    model_config = SettingsConfigDict(
        env_prefix="FINOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # where reports go and where local data comes from
    output_dir: Path = Path("reports")
    source: str | None = Field(
        default=None, description="Local file, folder or glob of billing data"
    )
    source_schema: SchemaName = "auto"
    home: Path = Field(default=Path(".finops"), description="Local state: sample data, log, spool")

    # query engine
    engine: Literal["duckdb", "athena"] = "duckdb"
    duckdb_threads: int | None = None
    # DuckDB spills to a temp folder beyond this; 1 GB keeps a 10M-row report under 1.5 GB RSS
    duckdb_memory_limit: str = "1GB"
    query_timeout_s: float = 300.0
    top_n: int = 10

    # Athena
    aws_region: str = "us-east-1"
    aws_profile: str | None = None
    athena_database: str = "cur"
    athena_table: str = "cost_and_usage"
    athena_workgroup: str = "primary"
    athena_output: str | None = None
    athena_usd_per_tb: float = 5.0
    athena_max_concurrency: int = 5
    # reuse Athena results of identical queries younger than this (0: always run; at most 7 days)
    athena_result_reuse_minutes: int = Field(default=0, ge=0)
    # a query still running after this is stopped on Athena (StopQueryExecution) and fails
    athena_query_timeout_s: float = Field(default=600.0, gt=0)
    # the CUR export's S3 location (for the IAM policy) and where finished reports are published
    cur_s3_uri: str | None = None
    s3_report_bucket: str | None = None
    s3_report_prefix: str = "finops-reports"
    presign_expiry_s: int = 7 * 24 * 3600

    # insights
    insights: Literal["rules", "bedrock"] = "rules"
    # current Claude Sonnet through the US cross-region inference profile (Converse API)
    bedrock_model_id: str = "us.anthropic.claude-sonnet-4-6"
    bedrock_region: str | None = None
    temperature: float = 0.7
    max_tokens: int = 4096
    prompt_token_budget: int = 8000
    # --- insights-chat: Bedrock endpoint, retries, prices; chat limits ---
    bedrock_endpoint_url: str | None = Field(
        default=None, description="Bedrock runtime endpoint override (a local emulator in tests)"
    )
    bedrock_timeout_s: float = Field(default=120.0, gt=0)
    bedrock_max_attempts: int = Field(default=4, ge=1, le=10)
    # USD per 1M tokens; a key matches a model id that contains it (longest key wins)
    bedrock_prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_BEDROCK_PRICES)
    )
    chat_max_rows: int = Field(default=200, ge=1, le=100_000)
    chat_timeout_s: float = Field(default=60.0, gt=0)
    # chat SQL on Athena is stopped once it has scanned more than this (0: no cap); 10 GB is
    # $0.05 at $5/TB. The workgroup's BytesScannedCutoffPerQuery is the server-side guard.
    chat_max_scan_bytes: int = Field(default=10_000_000_000, ge=0)
    # --- end insights-chat ---

    # interaction log
    store: Literal["sqlite", "dynamodb"] = "sqlite"
    sqlite_path: Path | None = None
    dynamodb_table: str = "finops-agent-interactions"
    dynamodb_endpoint_url: str | None = None
    dynamodb_pitr: bool = False
    interaction_ttl_days: int = 90
    # items too large for DynamoDB even gzipped go here (s3://bucket/prefix/<id>.json.gz)
    log_s3_bucket: str | None = None
    log_s3_prefix: str = "finops-agent/interactions"

    # delivery
    mailer: Literal["none", "smtp", "ses"] = "none"
    # a reserved example domain: set FINOPS_MAIL_FROM to an address your mail server accepts
    mail_from: str = "finops-agent@example.com"
    mail_to: list[str] = Field(default_factory=list)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None

    # report email (report-email): size limit, chart images, SES options, retries
    email_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    email_charts: int = Field(default=4, ge=0, description="Key charts shown in the email body")
    email_images: bool = Field(default=True, description="PNG charts via Chromium, else HTML bars")
    chromium_path: str | None = Field(default=None, description="Default: chromium on PATH")
    smtp_timeout_s: float = 30.0
    ses_configuration_set: str | None = None
    ses_endpoint_url: str | None = None
    email_retry_delays_s: list[float] = Field(default_factory=lambda: [2.0, 5.0, 15.0])
    email_resend_days: int = Field(
        default=7, ge=0, description="Later runs retry an unsent report email for this many days"
    )

    # orchestration: Prefect schedules, the local server (deployments/serve.py), query cache
    schedule_timezone: str = Field(
        default="UTC", description="IANA timezone of deployment schedules"
    )
    serve_port: int = Field(
        default=4200, ge=1, le=65535, description="Port of the local Prefect UI"
    )
    portal_port: int = Field(
        default=4201, ge=1, le=65535, description="Port of the reports portal beside the Prefect UI"
    )
    portal_host: str = Field(
        default="127.0.0.1",
        description="Address the reports portal listens on; any other than loopback needs "
        "FINOPS_SERVE_TOKEN",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of the reports portal in links (behind a proxy or on a host); "
        "default http://127.0.0.1:<portal_port>",
    )
    serve_token: SecretStr | None = Field(
        default=None,
        description="Token every portal request must carry (header X-Finops-Token, or the "
        "cookie a ?token= link sets)",
    )
    query_cache_hours: float = Field(
        default=12.0, ge=0, description="How long a stored query's result is reused"
    )

    # tagging: logical key -> raw tag keys that mean it, in order of preference
    tag_keys: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_TAG_ALIASES))

    @field_validator("tag_keys")
    @classmethod
    def _tag_keys_are_safe(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for logical, aliases in value.items():
            check_tag_key(logical, what="logical tag key")
            if not aliases:
                raise ValueError(f"tag key {logical!r} has no aliases")
            for alias in aliases:
                check_tag_key(alias, what=f"alias of tag key {logical!r}")
        return value

    @property
    def portal_url(self) -> str:
        """Base URL of the reports portal in links: FINOPS_PUBLIC_URL, else loopback and its port."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://127.0.0.1:{self.portal_port}"

    def served_report_url(self, report_id: str) -> str | None:
        """The report's page on the portal when one is configured (FINOPS_PUBLIC_URL), else None."""
        if not self.public_url:
            return None
        return f"{self.portal_url}/r/{report_id}/"

    @property
    def log_path(self) -> Path:
        """SQLite interaction log location."""
        return self.sqlite_path or self.home / "interactions.sqlite"

    def masked(self) -> dict[str, Any]:
        """Settings as plain values with every secret replaced by asterisks."""
        shown: dict[str, Any] = {}
        for name, value in self:
            if isinstance(value, SecretStr):
                shown[name] = "**********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                shown[name] = str(value)
            else:
                shown[name] = value
        return shown


def load_settings(**overrides: Any) -> Settings:
    """Build settings from environment, .env and explicit overrides (None values ignored)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
