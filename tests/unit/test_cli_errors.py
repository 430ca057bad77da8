"""The CLI error boundary: user mistakes are one literal line with exit 2, bugs say so with exit 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from typer.testing import CliRunner

from finops_agent import pipeline
from finops_agent.aws import doctor
from finops_agent.checks import check_output_folder
from finops_agent.cli import app
from finops_agent.errors import OutputFolderError, UserError, user_error_from
from tests import tiny

runner = CliRunner()
_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "FINOPS_AWS_PROFILE",
)


def _one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return str(lines[0])


@pytest.fixture
def engines_opened(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Every source the report opens an engine on: empty when a check stopped it before."""
    opened: list[str | None] = []
    real = pipeline.build_engine

    def recording(settings: Any, source: str | None = None) -> Any:
        opened.append(source)
        return real(settings, source)

    monkeypatch.setattr(pipeline, "build_engine", recording)
    return opened


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credential anywhere botocore looks, and no instance metadata call off the machine."""
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.hostile
def test_markup_in_a_source_path_is_printed_literally(tmp_path: Path) -> None:
    source = tmp_path / "out" / "[bold]x[/]"
    result = runner.invoke(app, ["report", "--source", str(source), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert _one_error_line(result) == f"error: no files match {source}"


@pytest.mark.hostile
def test_markup_in_a_report_id_is_printed_literally(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ask", "[red]evil[/]", "why [bold]?", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        "error: invalid report id '[red]evil[/]': use the id printed by `finops report` "
        "(letters, digits, '-', '_' and '.', no path)"
    )


@pytest.mark.hostile
def test_no_aws_credentials_with_the_athena_engine_says_how_to_configure(
    tmp_path: Path, no_aws_credentials: None, engines_opened: list[str | None]
) -> None:
    result = runner.invoke(app, ["report", "--engine", "athena", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        "error: no AWS credentials found, needed by FINOPS_ENGINE=athena: set AWS_PROFILE "
        "(or FINOPS_AWS_PROFILE) to a profile in ~/.aws/config, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or run on a role; `finops doctor` checks them"
    )
    assert engines_opened == []


@pytest.mark.hostile
def test_bedrock_insights_without_credentials_stop_before_the_source_is_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_aws_credentials: None,
    engines_opened: list[str | None],
) -> None:
    monkeypatch.setenv("FINOPS_INSIGHTS", "bedrock")
    source = tiny.write("cur2", tmp_path / "data")
    result = runner.invoke(app, ["report", "--source", str(source), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert _one_error_line(result).startswith(
        "error: no AWS credentials found, needed by FINOPS_INSIGHTS=bedrock: set AWS_PROFILE"
    )
    assert engines_opened == []


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("out", "reason"),
    [
        # the output folder itself is a file
        ("taken", "it is a file, not a folder"),
        # a file where a parent folder should be; the [/] must print literally too
        ("taken/[bold]reports[/]", "{tmp}/taken is a file, not a folder"),
    ],
)
def test_an_output_folder_that_cannot_be_created_stops_before_any_query(
    tmp_path: Path, engines_opened: list[str | None], out: str, reason: str
) -> None:
    (tmp_path / "taken").write_text("not a folder")
    source = tiny.write("cur2", tmp_path / "data")
    folder = tmp_path / out
    result = runner.invoke(app, ["report", "--source", str(source), "--out", str(folder)])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        f"error: output folder {folder} cannot be used: {reason.format(tmp=tmp_path)}; "
        "choose another folder with --out or FINOPS_OUTPUT_DIR"
    )
    assert engines_opened == []


@pytest.mark.hostile
def test_analyze_checks_the_output_folder_before_reading_files(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    data = tmp_path / "x.csv"
    data.write_text("service,cost\nEC2,1\n")
    result = runner.invoke(app, ["analyze", str(data), "--out", str(tmp_path / "taken" / "out")])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        f"error: output folder {tmp_path}/taken/out cannot be used: {tmp_path}/taken is a file, "
        "not a folder; choose another folder with --out or FINOPS_OUTPUT_DIR"
    )


def test_a_missing_output_folder_is_not_created_by_the_check(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "a" / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.hostile
def test_an_invalid_email_recipient_stops_the_report_before_any_query(
    tmp_path: Path, engines_opened: list[str | None]
) -> None:
    source = tiny.write("cur2", tmp_path / "data")
    out = tmp_path / "r"
    result = runner.invoke(
        app, ["report", "--source", str(source), "--out", str(out), "--email", "boss@"]
    )
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        "error: --email recipient 'boss@' is not a valid email address"
    )
    assert engines_opened == [] and not out.exists()


@pytest.mark.hostile
def test_email_without_a_mailer_stops_the_report_before_any_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines_opened: list[str | None]
) -> None:
    monkeypatch.setenv("FINOPS_MAILER", "none")
    source = tiny.write("cur2", tmp_path / "data")
    result = runner.invoke(
        app,
        ["report", "--source", str(source), "--out", str(tmp_path), "--email", "a@example.com"],
    )
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        "error: --email needs a mailer: set FINOPS_MAILER to smtp or ses "
        "(docs/settings.md, group mail)"
    )
    assert engines_opened == []


@pytest.mark.hostile
def test_a_bad_setting_value_stops_the_report_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines_opened: list[str | None]
) -> None:
    monkeypatch.setenv("FINOPS_INSIGHTS", "bedrok")
    source = tiny.write("cur2", tmp_path / "data")
    result = runner.invoke(app, ["report", "--source", str(source), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        "error: FINOPS_INSIGHTS: 'bedrok' is not one of rules, bedrock"
    )
    assert engines_opened == []


def _denied() -> ClientError:
    message = (
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
        "glue:GetTable on resource: arn:aws:glue:us-east-1:123456789012:catalog"
    )
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, "GetTable")


def test_access_denied_names_the_action_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(settings: Any) -> None:
        raise _denied()

    monkeypatch.setattr(doctor, "run_checks", refuse)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        "error: access denied for glue:GetTable: grant it to the caller (`finops iam-policy` "
        "prints the policy finops-agent needs); AWS said: User: "
        "arn:aws:iam::123456789012:user/ci is not authorized to perform: glue:GetTable on "
        "resource: arn:aws:glue:us-east-1:123456789012:catalog"
    )


def test_outside_failures_users_cause_become_user_errors() -> None:
    missing = user_error_from(NoCredentialsError())
    assert isinstance(missing, UserError)
    assert str(missing).startswith("no AWS credentials found: set AWS_PROFILE")
    permission = user_error_from(PermissionError(13, "Permission denied", "/srv/reports"))
    assert str(permission) == "permission denied: /srv/reports"
    # not ours to judge: a throttled call, a plain ValueError or KeyError are bugs until shown otherwise
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "Get")
    assert user_error_from(throttled) is None
    assert user_error_from(ValueError("x")) is None
    assert user_error_from(KeyError("x")) is None
    assert user_error_from(OutputFolderError("o")) is not None


@pytest.mark.parametrize(
    ("raised", "line"),
    [
        (
            RuntimeError("boom"),
            "error: unexpected RuntimeError: boom (run with --debug for the traceback)",
        ),
        # a KeyError used to pass as bad input; now it is a bug like any other
        (
            KeyError("region"),
            "error: unexpected KeyError: 'region' (run with --debug for the traceback)",
        ),
        (ValueError(""), "error: unexpected ValueError (run with --debug for the traceback)"),
    ],
)
def test_an_unexpected_exception_is_a_bug_with_exit_1_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, raised: Exception, line: str
) -> None:
    def explode(settings: Any) -> None:
        raise raised

    monkeypatch.setattr(doctor, "run_checks", explode)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert _one_error_line(result) == line


def test_debug_prints_the_traceback_before_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(settings: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "run_checks", explode)
    result = runner.invoke(app, ["--debug", "doctor"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert 'in explode\n    raise RuntimeError("boom")' in result.stderr
    assert result.stderr.rstrip().endswith(
        "error: unexpected RuntimeError: boom (run with --debug for the traceback)"
    )
    # the next command without --debug is quiet again
    assert "Traceback" not in runner.invoke(app, ["doctor"]).stderr


@pytest.mark.hostile
def test_analyze_of_an_s3_file_without_credentials_stops_before_downloading(
    tmp_path: Path, no_aws_credentials: None
) -> None:
    result = runner.invoke(
        app, ["analyze", "s3://results/cost.csv", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert _one_error_line(result).startswith(
        "error: no AWS credentials found, needed by an s3:// file: set AWS_PROFILE"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.hostile
def test_demo_checks_the_output_folder_before_generating_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINOPS_HOME", str(tmp_path / "home"))
    (tmp_path / "taken").write_text("not a folder")
    result = runner.invoke(app, ["demo", "--rows", "100", "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        f"error: output folder {tmp_path}/taken cannot be used: it is a file, not a folder; "
        "choose another folder with --out or FINOPS_OUTPUT_DIR"
    )
    assert not (tmp_path / "home").exists()


@pytest.mark.hostile
def test_a_profile_that_does_not_exist_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_aws_credentials: None
) -> None:
    monkeypatch.setenv("FINOPS_AWS_PROFILE", "prod-finops")
    result = runner.invoke(app, ["report", "--engine", "athena", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        "error: AWS profile 'prod-finops' (FINOPS_AWS_PROFILE) is not in ~/.aws/config or "
        "~/.aws/credentials; needed by FINOPS_ENGINE=athena"
    )


def test_an_output_folder_behind_a_broken_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputFolderError, match=r"link is a broken link; choose another folder"):
        check_output_folder(tmp_path / "link" / "reports")


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("to", "mailer", "line"),
    [
        ("boss@", "smtp", "error: --to recipient 'boss@' is not a valid email address"),
        (
            "a@example.com",
            "none",
            "error: --to needs a mailer: set FINOPS_MAILER to smtp or ses "
            "(docs/settings.md, group mail)",
        ),
        (",", "smtp", "error: no recipients: pass --to or set FINOPS_MAIL_TO"),
    ],
)
def test_send_refuses_bad_recipients_and_mail_settings_before_composing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, to: str, mailer: str, line: str
) -> None:
    monkeypatch.setenv("FINOPS_MAILER", mailer)
    report = tmp_path / "20261201T000000Z-abcdef"
    report.mkdir()
    (report / "report.json").write_text('{"report_id": "20261201T000000Z-abcdef"}')
    result = runner.invoke(
        app, ["send", "20261201T000000Z-abcdef", "--out", str(tmp_path), "--to", to]
    )
    assert result.exit_code == 2
    assert _one_error_line(result) == line
    assert not (report / "delivery.json").exists()


@pytest.mark.hostile
def test_history_names_a_bad_date_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINOPS_HOME", str(tmp_path))
    result = runner.invoke(app, ["history", "--since", "last [bold]week[/]"])
    assert result.exit_code == 2
    assert _one_error_line(result) == "error: --since must be YYYY-MM-DD, not 'last [bold]week[/]'"


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--end", "2026-02-30"], "error: --end must be YYYY-MM-DD, not '2026-02-30'"),
        (["--schema", "cur3"], "error: schema must be cur, cur2 or focus, not 'cur3'"),
        # CUR 2.0 (the default schema) holds AWS charges only
        (
            ["--second-provider"],
            "error: a second provider needs schema focus: cur2 holds AWS charges only",
        ),
        (
            ["--second-currency", "JPY"],
            "error: second currency must be one of EUR, GBP, not 'JPY'",
        ),
    ],
)
def test_sample_data_names_a_bad_option_in_one_line(
    tmp_path: Path, args: list[str], line: str
) -> None:
    result = runner.invoke(app, ["sample-data", "--out", str(tmp_path / "data"), *args])
    assert result.exit_code == 2
    assert _one_error_line(result) == line


def test_every_aws_backend_is_named_when_credentials_are_needed() -> None:
    from finops_agent.checks import aws_backends
    from finops_agent.settings import load_settings

    settings = load_settings(engine="athena", insights="bedrock", store="dynamodb", mailer="ses")
    assert aws_backends(settings, emailing=True) == [
        "FINOPS_ENGINE=athena",
        "FINOPS_INSIGHTS=bedrock",
        "FINOPS_STORE=dynamodb",
        "FINOPS_MAILER=ses",
    ]
    # SES is only called when this run emails; the local defaults call no AWS at all
    assert aws_backends(settings) == [
        "FINOPS_ENGINE=athena",
        "FINOPS_INSIGHTS=bedrock",
        "FINOPS_STORE=dynamodb",
    ]
    assert aws_backends(load_settings(engine="duckdb", insights="rules", store="sqlite")) == []
