"""Process groups: stopping a launched child also stops what it started."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from finops_agent.orchestration.launcher import (
    LauncherError,
    ManagedProcess,
    free_port,
    portal_health_url,
    prefect_environment,
    run_launcher,
    wait_healthy,
)
from finops_agent.settings import load_settings


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_stop_kills_grandchildren_that_ignore_sigterm(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    # the child starts a grandchild that ignores SIGTERM, then waits
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    child = ManagedProcess("child", [sys.executable, "-c", script], os.environ, tmp_path / "c.log")
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, child.log_tail()
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    assert _alive(grandchild)
    child.stop(timeout=2)
    assert not child.running()
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_wait_healthy_reports_a_dead_child_with_its_log(tmp_path: Path) -> None:
    child = ManagedProcess(
        "server",
        [sys.executable, "-c", "print('port already in use'); raise SystemExit(3)"],
        os.environ,
        tmp_path / "s.log",
    )
    with pytest.raises(LauncherError, match=r"(?s)server exited with code 3.*port already in use"):
        wait_healthy(child, f"http://127.0.0.1:{free_port()}/api", timeout=10)


def test_environment_points_ui_and_results_at_the_chosen_port_and_home(tmp_path: Path) -> None:
    env = prefect_environment(tmp_path / "home", 4321, base={"PREFECT_RUNNER_POLL_FREQUENCY": "5"})
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4321/api"
    assert env["PREFECT_SERVER_UI_API_URL"] == env["PREFECT_API_URL"]
    assert env["PREFECT_HOME"] == str((tmp_path / "home").resolve())
    assert env["PREFECT_RESULTS_LOCAL_STORAGE_PATH"].startswith(env["PREFECT_HOME"])
    assert env["DO_NOT_TRACK"] == "1"
    # an explicit poll frequency wins over the launcher's default
    assert env["PREFECT_RUNNER_POLL_FREQUENCY"] == "5"


def test_a_portal_beyond_loopback_without_a_token_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(portal_host="0.0.0.0", home=tmp_path / "finops")
    assert run_launcher(tmp_path / "prefect", free_port(), settings=settings) == 2
    assert (
        "error: FINOPS_PORTAL_HOST=0.0.0.0 listens beyond this machine" in capsys.readouterr().err
    )
    # refused before any child: no server database, no logs
    assert not (tmp_path / "prefect").exists()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:4201"),
        ("0.0.0.0", "http://127.0.0.1:4201"),  # a wildcard is checked on loopback
        ("::1", "http://[::1]:4201"),
        ("10.0.0.5", "http://10.0.0.5:4201"),
    ],
)
def test_the_portal_is_checked_where_it_listens(host: str, url: str) -> None:
    settings = load_settings(portal_host=host, portal_port=4201, serve_token="t")
    assert portal_health_url(settings) == url
