"""Effective settings from the environment (prefix FINOPS_), a .env file and defaults.

Settings stay flat (`settings.athena_table`, env `FINOPS_ATHENA_TABLE`) and each records the
concern it configures in `json_schema_extra["group"]`; `GROUPS` orders and titles the concerns.
`python -m finops_agent.settings_docs` writes the table in docs/settings.md from this model.
A bad value becomes one `SettingValueError` line naming the setting, the value and what is allowed.
"""

from __future__ import annotations

import json
import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticUndefined
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _PydanticSettingsError

from finops_agent.errors import ConfigurationError
from finops_agent.identifiers import check_tag_key

__all__ = [
    "DEFAULT_BEDROCK_PRICES",
    "DEFAULT_TAG_ALIASES",
    "ENV_PREFIX",
    "GROUPS",
    "ModelPrice",
    "SettingValueError",
    "Settings",
    "env_name",
    "group_of",
    "load_settings",
    "type_words",
]

ENV_PREFIX = "FINOPS_"

DEFAULT_TAG_ALIASES: dict[str, list[str]] = {
    "owner": ["owner", "Owner", "team", "Team"],
    "project": ["project", "Project"],
    "cost_center": ["cost_center", "CostCenter", "costcenter"],
    "environment": ["environment", "Environment", "env", "Env"],
}

# The concerns settings are grouped by, in the order the docs show them.
GROUPS: dict[str, str] = {
    "general": "Where reports and local state live and what every report shows",
    "engine": "The query engine and the local billing source",
    "aws": "AWS access shared by Athena, Bedrock, DynamoDB, SES and S3",
    "athena": "The Athena engine",
    "publish": "Publishing finished reports to S3",
    "insights": "Insights from the rule engine or Amazon Bedrock",
    "chat": "Follow-up questions on a report",
    "store": "The interaction log (SQLite or DynamoDB)",
    "mail": "Mail transport (SMTP or SES), sender and recipients",
    "email": "The report email",
    "cache": "Reuse of stored query results",
    "serve": "Prefect schedules, the local server and the reports portal",
}


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


def _in(group: str, description: str, default: Any = PydanticUndefined, **kwargs: Any) -> Any:
    """A setting of `group` with its description (pydantic Field plus the concern it belongs to)."""
    if group not in GROUPS:
        raise KeyError(f"setting group {group!r} is not in GROUPS")
    return Field(default, description=description, json_schema_extra={"group": group}, **kwargs)


_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(%|b|bytes?|[kmgt](ib|b)?)\s*$", re.IGNORECASE)

# Lists read from the environment as comma-separated text or as a JSON array.
_ListFromEnv = Annotated[list[str], NoDecode]
_FloatsFromEnv = Annotated[list[float], NoDecode]


class Settings(BaseSettings):
    """Every knob of finops-agent; read with `load_settings()`, never at import time."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- general ---
    output_dir: Path = _in(
        "general",
        "Folder the reports are written to, one sub-folder per report id",
        Path("reports"),
    )
    home: Path = _in(
        "general",
        "Local state: sample data, the SQLite interaction log, the DynamoDB spool, chat history",
        Path(".finops"),
    )
    top_n: int = _in(
        "general", "Rows kept per ranking (top services, accounts, resources)", 10, ge=1
    )
    tag_keys: dict[str, list[str]] = _in(
        "general",
        "Logical tag key -> raw tag keys that mean it, in order of preference",
        default_factory=lambda: dict(DEFAULT_TAG_ALIASES),
    )
    currency: str = _in(
        "general",
        "Billing currency a report covers: auto (the largest in the window) or a code such as "
        "EUR; amounts in other currencies are never added, the report names them with their totals",
        "auto",
    )

    # --- engine ---
    engine: Literal["duckdb", "athena"] = _in(
        "engine", "Query engine: DuckDB over local files, or Amazon Athena", "duckdb"
    )
    source: str | None = _in(
        "engine", "Local billing file, folder or glob (DuckDB engine; --source overrides)", None
    )
    duckdb_threads: int | None = _in(
        "engine", "DuckDB worker threads (unset: one per core)", None, ge=1
    )
    # DuckDB spills to a temp folder beyond this; 1 GB keeps a 10M-row report under 1.5 GB RSS
    duckdb_memory_limit: str = _in(
        "engine", "DuckDB memory limit before it spills to disk (e.g. 1GB, 512MB)", "1GB"
    )
    query_timeout_s: float = _in(
        "engine", "DuckDB: seconds all of a report's stored queries may take together", 300.0, gt=0
    )

    # --- aws ---
    aws_region: str = _in("aws", "AWS region of Athena, Glue, DynamoDB, SES and S3", "us-east-1")
    aws_profile: str | None = _in(
        "aws", "Profile from ~/.aws/config (unset: the default credential chain)", None
    )

    # --- athena ---
    athena_database: str = _in("athena", "Glue database holding the cost table", "cur")
    athena_table: str = _in(
        "athena", "Cost table (legacy CUR, CUR 2.0 or FOCUS export)", "cost_and_usage"
    )
    athena_mode: Literal["per-query", "materialise", "extract"] = _in(
        "athena",
        "per-query: every stored query runs on Athena over the source table; materialise: one "
        "CTAS of the window as a temporary table under the results location, every stored query "
        "runs on Athena over it, dropped after the run; extract: one UNLOAD of the window to "
        "Parquet under the results location, read into DuckDB, removed from S3 after the run",
        "per-query",
    )
    athena_workgroup: str = _in("athena", "Workgroup queries run in", "primary")
    athena_output: str | None = _in(
        "athena", "s3:// location for query results (unset: the workgroup's)", None
    )
    athena_usd_per_tb: float = _in(
        "athena", "Price per TB scanned, for the cost shown per query", 5.0, ge=0
    )
    athena_max_concurrency: int = _in(
        "athena", "Stored queries running on Athena at the same time", 5, ge=1
    )
    athena_result_reuse_minutes: int = _in(
        "athena",
        "Reuse results of identical queries younger than this (0: always run; at most 7 days)",
        0,
        ge=0,
    )
    athena_query_timeout_s: float = _in(
        "athena",
        "A query still running after this is stopped on Athena (StopQueryExecution) and fails",
        600.0,
        gt=0,
    )
    cur_s3_uri: str | None = _in(
        "athena",
        "s3:// location of the cost export, for the IAM policy (`finops iam-policy`)",
        None,
    )

    # --- publish ---
    s3_report_bucket: str | None = _in(
        "publish", "Bucket finished reports are published to (unset: not published)", None
    )
    s3_report_prefix: str = _in("publish", "Key prefix of published reports", "finops-reports")
    presign_expiry_s: int = _in(
        "publish",
        "Lifetime of the presigned link to a published report, seconds",
        7 * 24 * 3600,
        gt=0,
    )

    # --- insights ---
    insights: Literal["rules", "bedrock"] = _in(
        "insights", "Insight provider: the deterministic rule engine, or Amazon Bedrock", "rules"
    )
    # current Claude Sonnet through the US cross-region inference profile (Converse API)
    bedrock_model_id: str = _in(
        "insights",
        "Bedrock model or inference profile id used for insights and chat",
        "us.anthropic.claude-sonnet-4-6",
    )
    bedrock_region: str | None = _in(
        "insights", "Region Bedrock is called in (unset: FINOPS_AWS_REGION)", None
    )
    temperature: float = _in("insights", "Sampling temperature of the model", 0.7, ge=0, le=1)
    max_tokens: int = _in("insights", "Most tokens the model may answer with", 4096, ge=1)
    prompt_token_budget: int = _in(
        "insights", "Most tokens of report data put into the insights prompt", 8000, ge=1
    )
    bedrock_endpoint_url: str | None = _in(
        "insights", "Bedrock runtime endpoint override (a local emulator in tests)", None
    )
    bedrock_timeout_s: float = _in(
        "insights", "Read timeout of one Bedrock call, seconds", 120.0, gt=0
    )
    bedrock_max_attempts: int = _in(
        "insights", "Attempts per Bedrock call, throttling retries included", 4, ge=1, le=10
    )
    bedrock_prices: dict[str, ModelPrice] = _in(
        "insights",
        "USD per 1M input/output tokens by model; a key matches a model id containing it, "
        "longest key wins",
        default_factory=lambda: dict(DEFAULT_BEDROCK_PRICES),
    )

    # --- chat ---
    chat_max_rows: int = _in(
        "chat", "Rows a chat query may return to the model and the user", 200, ge=1, le=100_000
    )
    chat_timeout_s: float = _in("chat", "Seconds one chat query may run", 60.0, gt=0)
    # 10 GB is $0.05 at $5/TB; the workgroup's BytesScannedCutoffPerQuery is the server-side guard
    chat_max_scan_bytes: int = _in(
        "chat",
        "Chat SQL on Athena is stopped once it has scanned more than this many bytes (0: no cap)",
        10_000_000_000,
        ge=0,
    )

    # --- store ---
    store: Literal["sqlite", "dynamodb"] = _in(
        "store", "Where model interactions are logged: a SQLite file or DynamoDB", "sqlite"
    )
    sqlite_path: Path | None = _in(
        "store", "SQLite interaction log file (unset: FINOPS_HOME/interactions.sqlite)", None
    )
    dynamodb_table: str = _in(
        "store", "DynamoDB table of the interaction log", "finops-agent-interactions"
    )
    dynamodb_endpoint_url: str | None = _in(
        "store", "DynamoDB endpoint override (DynamoDB Local, dynalite)", None
    )
    interaction_ttl_days: int = _in(
        "store", "DynamoDB deletes logged interactions after this many days (TTL)", 90, ge=1
    )
    log_s3_bucket: str | None = _in(
        "store",
        "Bucket for interactions too large for DynamoDB even gzipped (unset: they are not logged)",
        None,
    )
    log_s3_prefix: str = _in(
        "store", "Key prefix of oversized interactions", "finops-agent/interactions"
    )

    # --- mail ---
    mailer: Literal["none", "smtp", "ses"] = _in(
        "mail", "How email is sent: not at all, an SMTP server, or Amazon SES", "none"
    )
    mail_from: str = _in(
        "mail",
        "Sender address (From) of every email; the default is a reserved example domain that "
        "real mail servers refuse, so set an address your SMTP server or SES identity accepts",
        "finops-agent@example.com",
    )
    mail_to: _ListFromEnv = _in(
        "mail",
        "Default recipients of report emails (comma-separated; --email/--to override)",
        default_factory=list,
    )
    smtp_host: str = _in("mail", "SMTP server host", "127.0.0.1")
    smtp_port: int = _in("mail", "SMTP server port", 25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = _in(
        "mail", "SMTP transport security: none, STARTTLS upgrade, or TLS from the start", "none"
    )
    smtp_user: str | None = _in("mail", "SMTP login user (unset: no login)", None)
    smtp_password: SecretStr | None = _in("mail", "SMTP login password (masked in output)", None)
    smtp_timeout_s: float = _in(
        "mail", "Seconds an SMTP connection or command may take", 30.0, gt=0
    )
    ses_configuration_set: str | None = _in(
        "mail", "SES configuration set for sending events (unset: none)", None
    )
    ses_endpoint_url: str | None = _in("mail", "SES endpoint override (a local stand-in)", None)

    # --- email ---
    email_max_bytes: int = _in(
        "email",
        "Largest email; images give way to HTML bars to stay under it",
        1_000_000,
        gt=0,
    )
    email_attach_report: bool = _in(
        "email",
        "Attach the interactive report.html when it fits (else it is linked)",
        False,
    )
    email_charts: int = _in("email", "Key charts shown in the email body", 4, ge=0)
    email_images: bool = _in(
        "email", "Charts as PNG images rendered with Chromium, else as HTML bars", True
    )
    chromium_path: str | None = _in(
        "email", "Chromium used for chart images (unset: chromium on PATH)", None
    )
    email_retry_delays_s: _FloatsFromEnv = _in(
        "email",
        "Seconds between attempts to send an email (comma-separated)",
        default_factory=lambda: [2.0, 5.0, 15.0],
    )
    email_resend_days: int = _in(
        "email", "Later runs retry an unsent report email for this many days", 7, ge=0
    )

    # --- cache ---
    query_cache_hours: float = _in(
        "cache", "How long a stored query's result is reused (0: always run)", 12.0, ge=0
    )

    # --- serve ---
    schedule_timezone: str = _in("serve", "IANA timezone of deployment schedules", "UTC")
    serve_port: int = _in("serve", "Port of the local Prefect UI and API", 4200, ge=1, le=65535)
    portal_port: int = _in(
        "serve", "Port of the reports portal beside the Prefect UI", 4201, ge=1, le=65535
    )
    portal_host: str = _in(
        "serve",
        "Address the reports portal listens on; any other than loopback needs FINOPS_SERVE_TOKEN",
        "127.0.0.1",
    )
    public_url: str | None = _in(
        "serve",
        "Base URL of the reports portal in links and emails (behind a proxy or on a host); "
        "`finops serve` sets it for its runs to http://127.0.0.1:<portal_port>",
        None,
    )
    serve_token: SecretStr | None = _in(
        "serve",
        "Token every portal request must carry (header X-Finops-Token, or the cookie a "
        "?token= link sets; masked in output)",
        None,
    )

    @field_validator("mail_to", "email_retry_delays_s", mode="before")
    @classmethod
    def _comma_or_json_list(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("is not a valid JSON list") from None
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("currency", mode="before")
    @classmethod
    def _currency_choice(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.lower() == "auto":
            return "auto"
        if not re.fullmatch(r"[A-Za-z]{3}", text):
            raise ValueError("is neither auto nor a three-letter currency code (USD, EUR, …)")
        return text.upper()

    @field_validator("output_dir", "home", "sqlite_path", mode="before")
    @classmethod
    def _path_is_not_blank(cls, value: Any) -> Any:
        # Path("") is the current folder: an empty variable must not silently mean "here"
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: give a folder or file path, or unset it")
        return value

    @field_validator("athena_output", "cur_s3_uri", mode="before")
    @classmethod
    def _s3_uri(cls, value: Any) -> Any:
        # a deployment template leaves an unset variable as "": that means unset here too
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not value.startswith("s3://"):
            raise ValueError("is not an s3:// URI (s3://bucket/prefix/)")
        return value

    @field_validator("s3_report_bucket", "log_s3_bucket", mode="before")
    @classmethod
    def _bucket_name(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and ("/" in value or ":" in value):
            raise ValueError(
                "is not a bucket name: give the name alone, the prefix has its own setting"
            )
        return value

    @field_validator(
        "bedrock_endpoint_url",
        "dynamodb_endpoint_url",
        "ses_endpoint_url",
        "public_url",
        mode="before",
    )
    @classmethod
    def _http_url(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            raise ValueError("is not an http:// or https:// URL")
        return value

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        # the sizes DuckDB's memory_limit accepts, so a typo fails here and not inside the engine
        if not _MEMORY_SIZE.match(value):
            raise ValueError("is not a memory size (e.g. 1GB, 512MB, 2GiB or 50%)")
        return value

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


class SettingValueError(ConfigurationError):
    """A setting's value is not allowed; the message names the setting, the value and the rule."""


def env_name(name: str) -> str:
    """The environment variable of a setting: `athena_table` -> `FINOPS_ATHENA_TABLE`."""
    return ENV_PREFIX + name.upper()


def group_of(field: FieldInfo) -> str:
    """The concern a setting belongs to (its `group`)."""
    extra = field.json_schema_extra
    group = extra.get("group") if isinstance(extra, dict) else None
    return str(group) if group else "general"


# Overrides the CLI passes, by the option users typed; other overrides are named as given
_OPTION_NAMES = {"output_dir": "--out", "engine": "--engine", "currency": "--currency"}


def load_settings(**overrides: Any) -> Settings:
    """Build settings from environment, .env and explicit overrides (None values ignored).

    Raise SettingValueError naming the setting (or the CLI option), the value and what is allowed.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = [_describe(error, given) for error in exc.errors()]
        raise SettingValueError("; ".join(problems)) from None
    except _PydanticSettingsError as exc:
        # a JSON object or list that does not parse; pydantic-settings names only the field
        found = re.search(r'field "(\w+)"', str(exc))
        name = found.group(1) if found else ""
        raw = _environment_value(name) if name else None
        shown = f" {raw!r}" if raw is not None else ""
        raise SettingValueError(
            f"{env_name(name) if name else 'a FINOPS_ setting'}:{shown} is not valid JSON: "
            f"expected {_allowed(name) if name else 'what docs/settings.md lists'}"
        ) from None


def _environment_value(name: str) -> str | None:
    wanted = env_name(name).upper()
    for key, value in os.environ.items():
        if key.upper() == wanted:
            return value
    return None


def _label(name: str, given: dict[str, Any]) -> str:
    if name in given:
        return _OPTION_NAMES.get(name, name)
    return env_name(name)


def _choices(annotation: Any) -> list[str] | None:
    """The allowed values of a Literal setting (also inside `X | None`)."""
    if typing.get_origin(annotation) is Literal:
        return [str(choice) for choice in typing.get_args(annotation)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _choices(arg)
            if found:
                return found
    return None


def _allowed(name: str) -> str:
    """What a setting accepts, in words, for an error message and the docs."""
    field = Settings.model_fields.get(name)
    return type_words(field.annotation) if field else "see docs/settings.md"


def type_words(annotation: Any) -> str:
    """A setting's type in words: `one of rules, bedrock`, `whole number`, `list of numbers`."""
    choices = _choices(annotation)
    if choices:
        return "one of " + ", ".join(choices)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return type_words(args[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [type_words(a) for a in args if a is not type(None)]
        return " or ".join(kinds) + (", optional" if type(None) in args else "")
    if origin is list:
        inner = type_words(args[0])
        return f"list of {_PLURAL.get(inner, inner)} (comma-separated or JSON)"
    if origin is dict:
        return "JSON object"
    words = {
        bool: "true or false",
        int: "whole number",
        float: "number",
        str: "text",
        Path: "path",
        SecretStr: "secret text",
    }
    return words.get(annotation, getattr(annotation, "__name__", str(annotation)))


_PLURAL = {"text": "text values", "number": "numbers", "whole number": "whole numbers"}
_BOUNDS = {
    "greater_than": ("gt", "must be greater than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
}
_KINDS = {
    "bool_parsing": "is not true or false (also 1/0, yes/no, on/off)",
    "bool_type": "is not true or false",
    "int_parsing": "is not a whole number",
    "int_type": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "float_type": "is not a number",
    "path_type": "is not a path",
    "list_type": "is not a list (comma-separated or a JSON array)",
    "dict_type": "is not a JSON object",
    "string_type": "is not text",
    "missing": "is missing",
}


def _describe(error: ErrorDetails, given: dict[str, Any]) -> str:
    """One validation error as `SETTING: 'value' <what is wrong and what is allowed>`."""
    loc = [str(part) for part in error["loc"]]
    name = loc[0] if loc else ""
    label = _label(name, given) + "".join(f"[{part}]" for part in loc[1:])
    field = Settings.model_fields.get(name)
    secret = field is not None and "SecretStr" in str(field.annotation)
    value = "'***'" if secret else repr(error.get("input"))
    if error["type"] == "missing":
        return f"{label} is missing"
    kind = error["type"]
    if kind == "literal_error" and field is not None:
        problem = f"is not {_allowed(name)}"
    elif kind in _BOUNDS:
        key, phrase = _BOUNDS[kind]
        problem = phrase.format(error.get("ctx", {}).get(key))
    elif kind in _KINDS:
        problem = _KINDS[kind]
    elif kind == "value_error":
        problem = error["msg"].removeprefix("Value error, ")
        if not problem.startswith("is "):
            return f"{label}: {problem}"
    else:
        problem = f"is not allowed: {error['msg']}"
    return f"{label}: {value} {problem}"
