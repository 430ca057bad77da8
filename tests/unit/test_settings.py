"""Settings are grouped by concern, documented from the model, read by code, and bad values say why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_agent.cli import app
from finops_agent.settings import (
    GROUPS,
    Settings,
    SettingValueError,
    env_name,
    group_of,
    load_settings,
)
from finops_agent.settings_docs import DOC_PATH, render

ROOT = Path(__file__).resolve().parents[2]


def test_docs_settings_md_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/settings.md is stale: run `python -m finops_agent.settings_docs`"
    )


def test_every_setting_has_a_known_group_and_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert group_of(field) in GROUPS, name
        assert field.description and len(field.description) > 10, name


def test_every_setting_is_in_the_generated_table_once() -> None:
    table = DOC_PATH.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert table.count(f"| `{env_name(name)}` |") == 1, name
    # the sender address real mail needs is documented with what to set it to
    row = next(line for line in table.splitlines() if "`FINOPS_MAIL_FROM`" in line)
    assert "| mail |" in row and "Sender address" in row


def test_every_setting_is_read_by_some_code() -> None:
    """A setting no module reads is dead: remove it instead of documenting it."""
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("src/finops_agent", "flows", "deployments")
        for path in (ROOT / folder).rglob("*.py")
        if path.name not in ("settings.py", "settings_docs.py")
    )
    # settings.py itself counts only where it reads a setting (`self.sqlite_path` in log_path)
    own = (ROOT / "src/finops_agent/settings.py").read_text(encoding="utf-8")
    unread = [
        name
        for name in Settings.model_fields
        if not re.search(rf"\.{name}\b|[\"']{name}[\"']", code)
        and not re.search(rf"self\.{name}\b", own)
    ]
    assert unread == []


def test_removed_dead_settings_are_gone() -> None:
    # FINOPS_SOURCE_SCHEMA (the CLI's --schema decides) and FINOPS_DYNAMODB_PITR (setup's --pitr)
    assert "source_schema" not in Settings.model_fields
    assert "dynamodb_pitr" not in Settings.model_fields


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # a choice: the allowed values are listed
        ("FINOPS_INSIGHTS", "bedrok", "FINOPS_INSIGHTS: 'bedrok' is not one of rules, bedrock"),
        ("FINOPS_ENGINE", "Athena", "FINOPS_ENGINE: 'Athena' is not one of duckdb, athena"),
        # a boolean
        (
            "FINOPS_EMAIL_IMAGES",
            "maybe",
            "FINOPS_EMAIL_IMAGES: 'maybe' is not true or false (also 1/0, yes/no, on/off)",
        ),
        # a whole number, and one out of range
        (
            "FINOPS_SMTP_PORT",
            "twenty-five",
            "FINOPS_SMTP_PORT: 'twenty-five' is not a whole number",
        ),
        ("FINOPS_SERVE_PORT", "70000", "FINOPS_SERVE_PORT: '70000' must be at most 65535"),
        ("FINOPS_TOP_N", "0", "FINOPS_TOP_N: '0' must be at least 1"),
        # a number
        (
            "FINOPS_QUERY_CACHE_HOURS",
            "half a day",
            "FINOPS_QUERY_CACHE_HOURS: 'half a day' is not a number",
        ),
        (
            "FINOPS_ATHENA_QUERY_TIMEOUT_S",
            "0",
            "FINOPS_ATHENA_QUERY_TIMEOUT_S: '0' must be greater than 0.0",
        ),
        # a path that is empty would silently mean the current folder
        (
            "FINOPS_OUTPUT_DIR",
            "",
            "FINOPS_OUTPUT_DIR: '' is empty: give a folder or file path, or unset it",
        ),
        # a list item that is not a number names its position
        (
            "FINOPS_EMAIL_RETRY_DELAYS_S",
            "2,soon",
            "FINOPS_EMAIL_RETRY_DELAYS_S[1]: 'soon' is not a number",
        ),
        ("FINOPS_MAIL_TO", "[broken", "FINOPS_MAIL_TO: '[broken' is not a valid JSON list"),
        # a memory size DuckDB would refuse later
        (
            "FINOPS_DUCKDB_MEMORY_LIMIT",
            "lots",
            "FINOPS_DUCKDB_MEMORY_LIMIT: 'lots' is not a memory size (e.g. 1GB, 512MB, 2GiB or 50%)",
        ),
        (
            "FINOPS_DUCKDB_MEMORY_LIMIT",
            "1000",
            "FINOPS_DUCKDB_MEMORY_LIMIT: '1000' is not a memory size (e.g. 1GB, 512MB, 2GiB or 50%)",
        ),
        # locations: an s3:// URI, a bare bucket name, an http(s) endpoint
        (
            "FINOPS_ATHENA_OUTPUT",
            "athena-results/q/",
            "FINOPS_ATHENA_OUTPUT: 'athena-results/q/' is not an s3:// URI (s3://bucket/prefix/)",
        ),
        (
            "FINOPS_S3_REPORT_BUCKET",
            "s3://reports/finops",
            "FINOPS_S3_REPORT_BUCKET: 's3://reports/finops' is not a bucket name: give the name "
            "alone, the prefix has its own setting",
        ),
        (
            "FINOPS_DYNAMODB_ENDPOINT_URL",
            "localhost:8000",
            "FINOPS_DYNAMODB_ENDPOINT_URL: 'localhost:8000' is not an http:// or https:// URL",
        ),
        # a JSON object that does not parse
        (
            "FINOPS_TAG_KEYS",
            "{owner",
            "FINOPS_TAG_KEYS: '{owner' is not valid JSON: expected JSON object",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_setting_value_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingValueError) as caught:
        load_settings()
    assert str(caught.value) == message


@pytest.mark.hostile
def test_a_bad_password_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingValueError) as caught:
        load_settings(smtp_password=12345)
    assert str(caught.value) == "smtp_password: '***' is not text"


def test_a_bad_override_names_the_cli_option(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        SettingValueError, match=r"^--engine: 'spark' is not one of duckdb, athena$"
    ):
        load_settings(engine="spark")


def test_lists_take_comma_separated_text_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_MAIL_TO", "a@example.com, b@example.com")
    monkeypatch.setenv("FINOPS_EMAIL_RETRY_DELAYS_S", "[1, 2.5]")
    settings = load_settings()
    assert settings.mail_to == ["a@example.com", "b@example.com"]
    assert settings.email_retry_delays_s == [1.0, 2.5]


@pytest.mark.hostile
def test_a_bad_setting_stops_a_command_with_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINOPS_INSIGHTS", "bedrok")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert result.stderr == "error: FINOPS_INSIGHTS: 'bedrok' is not one of rules, bedrock\n"
    assert result.stdout == ""


@pytest.mark.hostile
def test_a_bad_option_value_is_named_by_the_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--engine", "spark", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == "error: --engine: 'spark' is not one of duckdb, athena\n"


def test_an_empty_optional_location_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # deployments/prefect.yaml passes "{{ $FINOPS_ATHENA_OUTPUT }}", empty when not configured
    monkeypatch.setenv("FINOPS_ATHENA_OUTPUT", "")
    monkeypatch.setenv("FINOPS_S3_REPORT_BUCKET", " ")
    settings = load_settings()
    assert settings.athena_output is None and settings.s3_report_bucket is None


@pytest.mark.parametrize("size", ["1GB", "512MB", "1.5GB", "80%", "1 GiB", "2g"])
def test_memory_sizes_duckdb_accepts_are_accepted(
    monkeypatch: pytest.MonkeyPatch, size: str
) -> None:
    monkeypatch.setenv("FINOPS_DUCKDB_MEMORY_LIMIT", size)
    assert load_settings().duckdb_memory_limit == size
