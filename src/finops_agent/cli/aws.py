"""`finops doctor` and `finops iam-policy`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from finops_agent.cli.errors import friendly_errors
from finops_agent.settings import load_settings


@friendly_errors
def doctor_command() -> None:
    """Check credentials, the Athena table, Bedrock, DynamoDB and mail; print the fix for each failure."""
    from finops_agent.aws.doctor import run_checks

    checks = run_checks(load_settings())
    table = Table("check", "result", "detail", "fix")
    for check in checks:
        # details quote bucket names, paths and AWS messages: never read them as markup
        table.add_row(
            Text(check.name),
            Text("pass", style="green") if check.ok else Text("FAIL", style="red"),
            Text(check.detail),
            Text(check.fix),
        )
    Console().print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@friendly_errors
def iam_policy_command(
    account: Annotated[
        str | None, typer.Option(help="AWS account id (default: the caller's, else *)")
    ] = None,
) -> None:
    """Print the least-privilege IAM policy for the configured resources."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from finops_agent.aws.iam import iam_policy

    settings = load_settings()
    if account is None:
        try:
            session = boto3.Session(
                profile_name=settings.aws_profile, region_name=settings.aws_region
            )
            account = str(session.client("sts").get_caller_identity()["Account"])
        except (ClientError, BotoCoreError):
            account = "*"
    typer.echo(json.dumps(iam_policy(settings, account), indent=2))
