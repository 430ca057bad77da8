"""`finops report` from the command line: one-line errors for bad input, a report path on success."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_agent.cli import app
from tests import tiny

runner = CliRunner()


def _bad_sources(tmp: Path) -> dict[str, tuple[list[str], str]]:
    corrupt = tmp / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 truncated")
    broken = tmp / "broken.csv"
    broken.write_text(
        "lineItem/UnblendedCost,lineItem/UsageStartDate\n1.0,2026-10-01\n2.0\n3.0,2026-10-02,extra\n"
    )
    unknown = tmp / "results.csv"
    unknown.write_text("service,cost\nEC2,1.0\n")
    tiny_folder = tiny.write("cur2", tmp / "cur2")
    return {
        # case: (arguments, what the one-line error must name)
        "missing source": (["--source", str(tmp / "nope")], "nope"),
        "corrupt parquet": (["--source", str(corrupt)], "corrupt.parquet"),
        "csv with a broken row": (["--source", str(broken)], "broken.csv"),
        "file of no billing schema": (["--source", str(unknown)], "closest is"),
        "schema forced wrongly": (
            ["--source", str(tiny_folder), "--schema", "focus"],
            "billedcost",
        ),
        "unknown schema name": (["--source", str(tiny_folder), "--schema", "cur3"], "cur3"),
        "unknown family": (["--source", str(tiny_folder), "--families", "security"], "security"),
        "bad date": (["--source", str(tiny_folder), "--start", "2026-13-01"], "YYYY-MM-DD"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing source",
        "corrupt parquet",
        "csv with a broken row",
        "file of no billing schema",
        "schema forced wrongly",
        "unknown schema name",
        "unknown family",
        "bad date",
    ],
)
@pytest.mark.hostile
def test_bad_input_ends_with_one_line_naming_the_problem(tmp_path: Path, case: str) -> None:
    args, named = _bad_sources(tmp_path)[case]
    result = runner.invoke(app, ["report", *args, "--out", str(tmp_path / "reports")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert named.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.integration
def test_report_end_to_end_prints_the_path_last_and_writes_the_sidecar(tmp_path: Path) -> None:
    folder = tiny.write("focus", tmp_path / "focus")
    out = tmp_path / "reports"
    result = runner.invoke(
        app,
        [
            "report",
            "--source",
            str(folder),
            "--start",
            "2026-10-01",
            "--end",
            "2026-11-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.name == "report.html" and path.is_file() and path.parent.parent == out
    data = json.loads((path.parent / "report.json").read_text())
    assert data["schema"] == "focus"
    assert data["window"] == {"start": "2026-10-01", "end": "2026-11-01"}
    assert data["totals"]["unblended_cost"] == pytest.approx(tiny.UNBLENDED_TOTAL)
    assert data["totals"]["amortized_cost"] == pytest.approx(tiny.AMORTIZED_TOTAL)
    assert all(q["status"] == "ok" for q in data["queries"].values())
    # the gp2 volume of the tiny data is priced: $3 of storage over 1 day of data, 20% saved
    gp2 = next(f for f in data["findings"] if f["query"] == "gp2_volumes")
    assert gp2["resource_ids"] == ["vol-0000000000000001"]
    assert gp2["monthly_savings_usd"] == 18.26  # 3.0 x 30.4375 x 0.2 = 18.2625, to the cent
    assert "$34.00" in path.read_text()
    assert (out / "index.html").is_file()


@pytest.mark.integration
@pytest.mark.hostile
def test_a_window_without_data_is_an_error_naming_the_dates(tmp_path: Path) -> None:
    folder = tiny.write("cur", tmp_path / "cur")
    result = runner.invoke(
        app,
        [
            "report",
            "--source",
            str(folder),
            "--start",
            "2026-12-01",
            "--end",
            "2027-01-01",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "no billing line items between 2026-12-01 and 2027-01-01" in result.stderr


def _processes_with_home(home: Path) -> list[int]:
    """Live processes whose environment names `home` as PREFECT_HOME."""
    marker = f"PREFECT_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _cli_env(home: Path, serve_port: int) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        DO_NOT_TRACK="1",
        FINOPS_QUERY_CACHE_HOURS="0",
        # nothing listens there, so a developer's own `finops serve` cannot be picked up
        FINOPS_SERVE_PORT=str(serve_port),
    )
    return env


_IN_PROCESS = """
import sys
from finops_agent.cli import app
try:
    app(sys.argv[1:], prog_name="finops", standalone_mode=False)
finally:
    print("prefect imported:", any(m == "prefect" or m.startswith("prefect.") for m in sys.modules))
"""


@pytest.mark.integration
def test_without_a_server_the_cli_runs_in_process_and_never_loads_prefect(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.integration.dynamo_servers import free_port

    home = (tmp_path / "prefect-home").resolve()
    folder = tiny.write("cur2", tmp_path / "cur2")
    args = ["--source", str(folder), "--start", "2026-10-01", "--end", "2026-11-01"]
    done = subprocess.run(
        [sys.executable, "-c", _IN_PROCESS, "report", *args, "--out", str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        env=_cli_env(home, free_port()),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert Path(lines[-2]).is_file()
    # no Prefect in the process means no temporary Prefect server could have been started
    assert lines[-1] == "prefect imported: False"
    assert not (home / "prefect.db").exists()


@pytest.mark.integration
def test_prefect_flag_runs_on_prefects_temporary_server_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from tests.integration.dynamo_servers import free_port

    home = (tmp_path / "prefect-home").resolve()
    folder = tiny.write("cur2", tmp_path / "cur2")
    args = ["--source", str(folder), "--start", "2026-10-01", "--end", "2026-11-01", "--prefect"]
    done = subprocess.run(
        [sys.executable, "-m", "finops_agent", "report", *args, "--out", str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        env=_cli_env(home, free_port()),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip().splitlines()[-1]).is_file()
    # the flow run was recorded in the temporary server's database, and the server is gone
    assert (home / "prefect.db").is_file()
    assert _processes_with_home(home) == []


@pytest.mark.integration
def test_with_finops_serve_running_a_cli_run_is_recorded_as_a_flow_run(tmp_path: Path) -> None:
    import json as json_
    import subprocess
    import sys
    import urllib.request

    from finops_agent.orchestration.launcher import api_url, start_server, wait_healthy
    from tests.integration.dynamo_servers import free_port

    server_home = (tmp_path / "server-home").resolve()
    server_home.mkdir()
    port = free_port()
    server = start_server(server_home, port)
    try:
        wait_healthy(server, api_url(port), timeout=120)
        folder = tiny.write("cur2", tmp_path / "cur2")
        args = ["--source", str(folder), "--start", "2026-10-01", "--end", "2026-11-01"]
        done = subprocess.run(
            [sys.executable, "-m", "finops_agent", "report", *args, "--out", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            env=_cli_env((tmp_path / "cli-home").resolve(), port),
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        request = urllib.request.Request(
            f"{api_url(port)}/flow_runs/filter",
            data=json_.dumps({"limit": 10}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            runs = json_.loads(response.read())
        states = [run["state"]["type"] for run in runs]
        assert states == ["COMPLETED"], runs
        # the served server recorded it; the CLI started no server of its own
        assert not (tmp_path / "cli-home" / "prefect.db").exists()
    finally:
        server.stop()


def test_a_named_server_wins_then_the_profile_then_finops_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finops_agent.prefect_env import prefect_server_url
    from tests.integration.dynamo_servers import free_port

    closed = free_port()
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    assert prefect_server_url(closed) is None
    (tmp_path / "profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n'
    )
    assert prefect_server_url(closed) == "http://127.0.0.1:9/api"
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:8/api")
    assert prefect_server_url(closed) == "http://127.0.0.1:8/api"
