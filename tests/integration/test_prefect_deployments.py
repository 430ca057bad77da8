"""The story of `make serve`: a real Prefect server, the served deployments, a run triggered
through the API the way the UI triggers it, the artifacts it leaves, and a clean shutdown.

One launcher (deployments/serve.py) serves the whole module; the shutdown test stops it, so it
is defined last (pytest runs a module's tests in definition order).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from finops_agent.orchestration.deployments import flow_available
from finops_agent.orchestration.launcher import api_url, free_port
from tests import tiny

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "deployments" / "serve.py"
TIMEZONE = "Europe/Berlin"
SCHEDULED = {
    "weekly-cost-report": "0 7 * * 1",
    "monthly-architecture-tagging": "0 7 3 * *",
    "daily-anomaly-digest": "0 6 * * *",
}


@dataclass
class Launched:
    """A running deployments/serve.py and where to reach it."""

    process: subprocess.Popen[bytes]
    home: Path
    url: str
    portal: str


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields follow the last ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`."""
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True when `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _client(url: str) -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def _deployment_names(url: str) -> set[str]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), _client(url) as client:
        return {d.name for d in client.read_deployments()}


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    """deployments/serve.py on a free loopback port with a temporary PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-home")
    port, portal_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "FINOPS_SCHEDULE_TIMEZONE": TIMEZONE,
        # triggered runs start on the runner's next poll
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    log = (home / "launcher.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(SERVE),
            "--port",
            str(port),
            "--portal-port",
            str(portal_port),
            "--home",
            str(home),
        ],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = api_url(port)
    # the server alone needs a minute on a busy two-core machine; portal and runner follow
    deadline = time.monotonic() + 180
    names: set[str] = set()
    while time.monotonic() < deadline and process.poll() is None:
        try:
            names = _deployment_names(url)
        except Exception:
            names = set()
        if {"ad-hoc-report", "chat", *SCHEDULED} <= names:
            break
        time.sleep(0.5)
    else:
        # SIGTERM lets the launcher stop its process groups; SIGKILL alone would orphan them
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        pytest.fail(
            f"serve.py did not register the deployments (got {sorted(names)}); "
            f"logs in {home}: {(home / 'launcher.log').read_text()[-2000:]}"
        )
    yield Launched(process, home, url, f"http://127.0.0.1:{portal_port}")
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    log.close()


def _trigger(url: str, deployment: str, parameters: dict[str, Any]) -> Any:
    """Create a run from the deployment with custom parameters, as the UI's Run form does."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        return run_deployment(
            f"finops-report/{deployment}",
            parameters=parameters,
            timeout=120,
            poll_interval=0.5,
            as_subflow=False,
        )


def _artifact_keys(url: str, flow_run_id: Any) -> dict[str, Any]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), _client(url) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


def test_scheduled_deployments_carry_their_cron_and_timezone(launched: Launched) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: launched.url}), _client(launched.url) as c:
        for name, cron in SCHEDULED.items():
            deployment = c.read_deployment_by_name(f"finops-report/{name}")
            schedules = [s.schedule for s in deployment.schedules]
            # one active cron schedule in the configured zone, not the machine's
            assert [(s.cron, s.timezone) for s in schedules] == [(cron, TIMEZONE)], name
            assert all(s.active for s in deployment.schedules)
        # manual-only: listed in the UI, never scheduled
        assert c.read_deployment_by_name("finops-report/ad-hoc-report").schedules == []
        assert c.read_deployment_by_name("report-chat/chat").schedules == []
        if flow_available("analyze-file"):
            assert c.read_deployment_by_name("analyze-file/analyze-file").schedules == []


def test_manual_run_with_custom_parameters_writes_report_and_artifacts(
    launched: Launched, tmp_path: Path
) -> None:
    data = tiny.write("cur2", tmp_path / "data")
    out = tmp_path / "reports"
    run = _trigger(
        launched.url,
        "ad-hoc-report",
        {
            "source": str(data),
            "families": ["architecture", "tagging"],
            "start": "2026-10-01",
            "end": "2026-11-01",
            "output_dir": str(out),
            "tag_keys": ["owner", "project"],
        },
    )
    assert run.state.is_completed(), run.state.message
    # the run is named for what it covered
    assert run.name == "architecture-tagging-2026-10"
    reports = list(out.glob("*/report.html"))
    assert len(reports) == 1
    assert "$34.00" in reports[0].read_text()
    artifacts = _artifact_keys(launched.url, run.id)
    assert set(artifacts) >= {
        "finops-report-summary",
        "finops-report-findings",
        "finops-report-link",
    }
    assert "$34.00" in artifacts["finops-report-summary"].data
    # runs under the launcher link the served report, not a file:// path the UI cannot open
    report_id = reports[0].parent.name
    served = f"{launched.portal}/r/{report_id}/"
    assert artifacts["finops-report-link"].data == f"[Report {report_id}]({served})"
    assert artifacts["finops-report-summary"].data.endswith(f"[Open the report]({served})\n")


def _run_logs(url: str, flow_run_id: Any) -> list[str]:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), _client(url) as client:
        found = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    return [log.message for log in found]


def test_manual_run_with_default_parameters_uses_the_demo_data_and_logs_it(
    launched: Launched,
) -> None:
    run = _trigger(launched.url, "ad-hoc-report", {})
    assert run.state.is_completed(), run.state.message
    # logs are shipped in batches: the last ones may land just after the run completed
    deadline = time.monotonic() + 30
    messages = _run_logs(launched.url, run.id)
    while time.monotonic() < deadline and not any(
        m.startswith("report written: ") for m in messages
    ):
        time.sleep(0.5)
        messages = _run_logs(launched.url, run.id)
    # the UI shows what happened: demo data said first, queries, totals and the served link
    assert any(m.startswith("No billing source is configured") for m in messages), messages
    assert any(" stored queries ok" in m for m in messages), messages
    assert any("line items from" in m and "net cost $" in m for m in messages), messages
    written = [m for m in messages if m.startswith("report written: ")]
    assert len(written) == 1 and f"; open it at {launched.portal}/r/" in written[0]
    report_id = written[0].rsplit("/r/", 1)[1].rstrip("/")
    # the portal serves that report (it reads the same reports folder as the runner)
    with urllib.request.urlopen(f"{launched.portal}/r/{report_id}/", timeout=10) as page:
        assert (
            page.status == 200 and f'src="/r/{report_id}/files/report.html"' in page.read().decode()
        )


def test_failed_run_says_why_in_its_state_and_an_alert_artifact(
    launched: Launched, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-export"
    run = _trigger(launched.url, "ad-hoc-report", {"source": str(missing)})
    assert run.state.is_failed()
    assert "does not exist" in run.state.message and str(missing) in run.state.message
    alert = _artifact_keys(launched.url, run.id)["finops-report-failure"]
    assert "does not exist" in alert.data and "source" in alert.data


def test_stopping_the_launcher_leaves_no_process_behind(launched: Launched) -> None:
    process = launched.process
    assert process.poll() is None
    below = descendants(process.pid)
    # server, portal and runner at least (plus anything they started)
    assert len(below) >= 3
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=45) == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in below):
        time.sleep(0.1)
    assert not [p for p in below if alive(p)]
