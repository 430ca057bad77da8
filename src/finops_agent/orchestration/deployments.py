"""The deployment list, with schedules, that deployments/serve.py serves and the tests inspect."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from finops_agent.errors import UserError
from finops_agent.settings import Settings

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

# Flow name -> module holding it. A flow is served only when its module is importable, so an
# install without the chat or file-analysis modules still serves the reports.
FLOW_MODULES: dict[str, str] = {
    "finops-report": "flows.report",
    "report-chat": "flows.chat",
    "analyze-file": "flows.analyze",
}


class DeploymentError(UserError, ValueError):
    """A deployment cannot be built; the message names the flow, module or setting."""


@dataclass(frozen=True)
class DeploymentPlan:
    """One deployment: which flow, when (cron, or None for manual only) and with what parameters."""

    name: str
    flow_name: str
    description: str
    cron: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


def deployment_plans() -> list[DeploymentPlan]:
    """Every deployment finops-agent offers, whether or not its flow is installed yet."""
    return [
        DeploymentPlan(
            "weekly-cost-report",
            "finops-report",
            "Cost report every Monday 07:00: last full month plus month to date.",
            cron="0 7 * * 1",
            parameters={"families": ["cost"], "period": "default"},
            tags=("scheduled", "cost"),
        ),
        DeploymentPlan(
            "monthly-architecture-tagging",
            "finops-report",
            "Architecture and tagging report for the last full month, on the 3rd once CUR data has settled.",
            cron="0 7 3 * *",
            parameters={"families": ["architecture", "tagging"], "period": "last_full_month"},
            tags=("scheduled", "architecture", "tagging"),
        ),
        DeploymentPlan(
            "daily-anomaly-digest",
            "finops-report",
            "Daily cost digest of the last 30 days: anomalies need a trailing 14-day baseline.",
            cron="0 6 * * *",
            parameters={"families": ["cost"], "period": "last_30_days", "kind": "digest"},
            tags=("scheduled", "cost", "anomaly"),
        ),
        DeploymentPlan(
            "ad-hoc-report",
            "finops-report",
            "Manual report: set any parameter in the run form.",
            tags=("manual",),
        ),
        DeploymentPlan(
            "chat",
            "report-chat",
            "Ask a follow-up question about a report; answered with SQL on the same data.",
            tags=("manual", "chat"),
        ),
        DeploymentPlan(
            "analyze-file",
            "analyze-file",
            "Analyse a billing file or S3 URI on demand.",
            tags=("manual",),
        ),
    ]


def flow_available(flow_name: str) -> bool:
    """True when the module that defines the flow can be imported."""
    module = FLOW_MODULES[flow_name]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def load_flow(flow_name: str) -> Flow[..., Any]:
    """Import the flow module and return the flow object registered under `flow_name`."""
    from prefect import Flow

    module_name = FLOW_MODULES[flow_name]
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, Flow) and value.name == flow_name:
            return value
    raise DeploymentError(f"module {module_name} defines no flow named {flow_name!r}")


def check_timezone(name: str) -> str:
    """Return `name` if it is an IANA timezone, else raise naming the setting."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeploymentError(
            f"FINOPS_SCHEDULE_TIMEZONE={name!r} is not an IANA timezone (e.g. UTC, Europe/Berlin)"
        ) from None
    return name


def available_plans(plans: list[DeploymentPlan] | None = None) -> list[DeploymentPlan]:
    """The plans whose flow module is installed."""
    return [p for p in plans or deployment_plans() if flow_available(p.flow_name)]


def plan_parameters(plan: DeploymentPlan, settings: Settings) -> dict[str, Any]:
    """A plan's parameters; scheduled reports also email FINOPS_MAIL_TO (shown, editable in the UI)."""
    parameters = dict(plan.parameters)
    if plan.cron and plan.flow_name == "finops-report" and settings.mail_to:
        parameters["recipients"] = list(settings.mail_to)
    return parameters


def build_deployments(settings: Settings) -> list[RunnerDeployment]:
    """RunnerDeployments for every available plan, scheduled in the configured timezone."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    timezone = check_timezone(settings.schedule_timezone)
    deployments = []
    for plan in available_plans():
        flow = load_flow(plan.flow_name)
        deployments.append(
            cast(
                "RunnerDeployment",
                flow.to_deployment(
                    name=plan.name,
                    schedules=[Cron(plan.cron, timezone=timezone)] if plan.cron else None,
                    # re-serving must reactivate schedules that a previous shutdown paused
                    paused=False,
                    parameters=plan_parameters(plan, settings),
                    description=plan.description,
                    tags=list(plan.tags),
                    # a module path works from any folder and from the installed wheel
                    entrypoint_type=EntrypointType.MODULE_PATH,
                ),
            )
        )
    return deployments
