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
    prefect_environment,
    wait_healthy,
)


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
