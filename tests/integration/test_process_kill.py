"""A `finops report` process killed with SIGKILL while it writes: nothing half-written, nothing left running."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from finops_agent.settings import load_settings
from tests import tiny
from tests.support.reports import WINDOW, make_report

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
FINOPS = str(Path(sys.executable).with_name("finops"))
_ATTEMPTS = 3


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _report(source: Path, out: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            FINOPS,
            "report",
            "--source",
            str(source),
            "--out",
            str(out),
            "--start",
            WINDOW[0],
            "--end",
            WINDOW[1],
            # a flow run on Prefect's temporary server: the server a kill orphans is under test
            "--prefect",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # its own process group, so cleanup can reach whatever it leaves behind
        start_new_session=True,
    )


def _kill_when_writing(
    proc: subprocess.Popen[str], out: Path, known: set[str]
) -> tuple[Path, list[int]]:
    """SIGKILL `proc` the moment its report folder appears; return the folder and its children then."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        new = [p for p in out.iterdir() if p.is_dir() and p.name not in known]
        if new:
            children = _children(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return new[0], children
        time.sleep(0.001)
    # still running past the deadline: stop it first, or reading its output waits for it
    proc.kill()
    stderr = proc.communicate(timeout=30)[1]
    raise AssertionError(f"no report folder appeared; stderr: {stderr[-2000:]}")


@pytest.fixture
def groups() -> Iterator[list[int]]:
    """Process groups to kill at the end, whatever the test left running."""
    started: list[int] = []
    yield started
    for group in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


@pytest.mark.fault
def test_a_run_killed_mid_write_leaves_no_half_report_and_the_next_run_cleans_up(
    tmp_path: Path, groups: list[int]
) -> None:
    """SIGKILL while report files are written: no partial report, a valid index, and the re-run
    completes, removes abandoned temporary files and stops the Prefect server the kill orphaned."""
    out = tmp_path / "reports"
    source = tiny.write("cur2", tmp_path / "data")
    settings = load_settings(output_dir=out, home=tmp_path / "home")
    first = make_report(settings, source)
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "FINOPS_HOME": str(tmp_path / "home"),
    }
    known = {first}
    for _ in range(_ATTEMPTS):
        proc = _report(source, out, env)
        groups.append(proc.pid)
        folder, children = _kill_when_writing(proc, out, known)
        known.add(folder.name)
        if not (folder / "report.html").exists():
            break  # the kill landed before the report was complete: the case under test
    else:
        pytest.fail(f"the report was complete before each of {_ATTEMPTS} kills landed")

    # what the killed run left: whole files or none, and the index as it was
    for name in ("report.json", "charts.json"):
        if (folder / name).exists():
            json.loads((folder / name).read_text())
    index = (out / "index.html").read_text()
    assert first in index and folder.name not in index
    assert index.rstrip().endswith("</html>")
    # Prefect's ephemeral API server outlives a SIGKILLed parent
    orphans = [pid for pid in children if _alive(pid)]
    assert orphans, "expected the killed run's Prefect server to be left running"

    # a temporary file abandoned an hour ago goes; one being written now stays
    abandoned = folder / ".report.html.k3j9x2ab"
    abandoned.write_text("<html><body>half")
    os.utime(abandoned, (time.time() - 7200, time.time() - 7200))
    live = out / first / ".report.json.q8w7e6r5"
    live.write_text("{")

    rerun = _report(source, out, env)
    groups.append(rerun.pid)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr[-2000:]
    second = Path(stdout.strip().splitlines()[-1])
    assert second.read_text().rstrip().endswith("</html>")
    index = (out / "index.html").read_text()
    assert first in index and second.parent.name in index and folder.name not in index
    assert not abandoned.exists() and live.exists()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in orphans), "the orphaned Prefect server was not stopped"
