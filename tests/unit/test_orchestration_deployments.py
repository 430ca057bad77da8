"""The deployment list serve.py registers: schedules, timezone, parameters, optional flows."""

from __future__ import annotations

from pathlib import Path

import pytest

from finops_agent.orchestration import deployments as dep
from finops_agent.period import PERIODS
from finops_agent.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SCHEDULES = {
    # Monday 07:00
    "weekly-cost-report": "0 7 * * 1",
    # the 3rd of each month, once the CUR has settled
    "monthly-architecture-tagging": "0 7 3 * *",
    # every day
    "daily-anomaly-digest": "0 6 * * *",
    # manual only
    "ad-hoc-report": None,
    "chat": None,
    "analyze-file": None,
}


def test_every_plan_has_its_schedule_and_sane_parameters() -> None:
    plans = {p.name: p for p in dep.deployment_plans()}
    assert {name: p.cron for name, p in plans.items()} == EXPECTED_SCHEDULES
    assert plans["chat"].flow_name == "report-chat"
    assert plans["analyze-file"].flow_name == "analyze-file"
    for plan in plans.values():
        if plan.flow_name == "finops-report":
            assert plan.parameters.get("period", "default") in PERIODS
            assert set(plan.parameters.get("families", [])) <= {"architecture", "tagging", "cost"}


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_built_deployments_carry_cron_and_configured_timezone(timezone: str) -> None:
    built = {d.name: d for d in dep.build_deployments(load_settings(schedule_timezone=timezone))}
    for name, cron in EXPECTED_SCHEDULES.items():
        if name not in built:
            continue
        schedules = [s.schedule for s in built[name].schedules]
        if cron is None:
            assert schedules == []
        else:
            assert [(s.cron, s.timezone) for s in schedules] == [(cron, timezone)]  # type: ignore[union-attr]
    report = built["ad-hoc-report"]
    # module entrypoint: runs from any folder and from the installed wheel
    assert report.entrypoint == "flows.report.finops_report"
    assert built["weekly-cost-report"].parameters == {"families": ["cost"], "period": "default"}


def test_bad_timezone_names_the_setting() -> None:
    with pytest.raises(dep.DeploymentError, match="FINOPS_SCHEDULE_TIMEZONE='Mars/Olympus'"):
        dep.build_deployments(load_settings(schedule_timezone="Mars/Olympus"))


def test_chat_and_file_analysis_are_served_only_once_their_flows_exist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = {"finops-report"}
    monkeypatch.setattr(dep, "flow_available", lambda name: name in installed)
    assert {p.name for p in dep.available_plans()} == {
        "weekly-cost-report",
        "monthly-architecture-tagging",
        "daily-anomaly-digest",
        "ad-hoc-report",
    }
    installed.update({"report-chat", "analyze-file"})
    assert {p.name for p in dep.available_plans()} == set(EXPECTED_SCHEDULES)


def test_a_module_without_the_named_flow_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(dep.FLOW_MODULES, "report-chat", "finops_agent.window")
    with pytest.raises(
        dep.DeploymentError, match=r"finops_agent\.window defines no flow named 'report-chat'"
    ):
        dep.load_flow("report-chat")
    assert dep.load_flow("finops-report").name == "finops-report"


ENTRYPOINTS = {
    "finops-report": "flows/report.py:finops_report",
    "report-chat": "flows/chat.py:report_chat",
    "analyze-file": "flows/analyze.py:analyze_file",
}


def test_prefect_yaml_matches_the_served_deployments() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    plans = {p.name: p for p in dep.deployment_plans()}
    for pool in ("process", "ecs"):
        listed = {
            d["name"].removeprefix(f"{pool}-"): d
            for d in config["deployments"]
            if d["name"].startswith(f"{pool}-")
        }
        assert set(listed) == set(plans), pool
        for name, deployment in listed.items():
            plan = plans[name]
            assert deployment["entrypoint"] == ENTRYPOINTS[plan.flow_name], name
            parameters = dict(deployment.get("parameters", {}))
            # scheduled reports name their recipients; manual runs fill them in the form
            assert bool(parameters.pop("recipients", None)) == bool(plan.cron), name
            assert parameters == dict(plan.parameters), name
            crons = [s["cron"] for s in deployment.get("schedules", [])]
            assert crons == ([plan.cron] if plan.cron else []), name
            assert deployment["work_pool"]["name"] == f"finops-{pool}"


def test_yaml_entrypoints_name_the_flows_that_exist() -> None:
    for flow_name, entrypoint in ENTRYPOINTS.items():
        if not dep.flow_available(flow_name):
            continue
        path, function = entrypoint.split(":")
        flow = dep.load_flow(flow_name)
        assert flow.fn.__name__ == function
        assert (ROOT / path).is_file()


def test_scheduled_reports_email_the_configured_recipients() -> None:
    plans = {p.name: p for p in dep.deployment_plans()}
    team = load_settings(mail_to=["finops@example.com"])
    weekly = dep.plan_parameters(plans["weekly-cost-report"], team)
    assert weekly == {
        "families": ["cost"],
        "period": "default",
        "recipients": ["finops@example.com"],
    }
    # manual runs email only when the form says so; no FINOPS_MAIL_TO, no recipients
    assert "recipients" not in dep.plan_parameters(plans["ad-hoc-report"], team)
    assert "recipients" not in dep.plan_parameters(
        plans["weekly-cost-report"], load_settings(mail_to=[])
    )
