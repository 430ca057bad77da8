"""Start a local Prefect server, the deployment runner and the reports portal; stop them cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from finops_agent.serve.app import PortalConfigError, check_bind
from finops_agent.settings import Settings, load_settings

HOST = "127.0.0.1"
_POLL_S: float = 0.2
_STOP_TIMEOUT_S: float = 15.0


class LauncherError(RuntimeError):
    """A child process could not be started or did not become healthy."""


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def api_url(port: int) -> str:
    """The Prefect API address of a local server."""
    return f"http://{HOST}:{port}/api"


def prefect_environment(
    home: Path, port: int, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for the server and the runner: project-local home, no telemetry, this API."""
    env = dict(os.environ if base is None else base)
    # a run started from the UI waits for the runner's next poll: 2 s instead of Prefect's 10 s
    env.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "2")
    env.update(
        PREFECT_HOME=str(home.resolve()),
        PREFECT_API_URL=api_url(port),
        # the UI must call the API on this port, not the default 4200
        PREFECT_SERVER_UI_API_URL=api_url(port),
        PREFECT_UI_URL=f"http://{HOST}:{port}",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        # cached query results (task caching) live inside the project-local home
        PREFECT_RESULTS_LOCAL_STORAGE_PATH=str((home / "storage").resolve()),
        # served runs log their progress to the UI: INFO, and the library's own logger too
        PREFECT_LOGGING_LEVEL="INFO",
        PREFECT_LOGGING_EXTRA_LOGGERS="finops_agent",
    )
    return env


class ManagedProcess:
    """A child in its own process group, so stopping it also stops everything it started."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """Process id (also the process group id)."""
        return self.popen.pid

    def running(self) -> bool:
        """True while the child has not exited."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the child's log, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = _STOP_TIMEOUT_S) -> int | None:
        """SIGTERM the whole group, wait, SIGKILL what is left; return the exit code."""
        self._signal_group(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            code = self.popen.wait(timeout=timeout)
        # children that outlived their parent still belong to the group
        self._signal_group(signal.SIGKILL)
        return code

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


def wait_healthy(process: ManagedProcess, url: str, timeout: float = 90.0) -> float:
    """Poll `<url>/health` until it answers; raise with the log tail if the process dies first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not process.running():
            raise LauncherError(
                f"{process.name} exited with code {process.popen.returncode} before it was "
                f"healthy; last log lines from {process.log}:\n{process.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(_POLL_S)
    raise LauncherError(
        f"{process.name} not healthy at {url} after {timeout:.0f} s; see {process.log}"
    )


def start_server(home: Path, port: int) -> ManagedProcess:
    """`prefect server start` on 127.0.0.1:<port> with its database and log under `home`."""
    argv = [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)]
    return ManagedProcess(
        "prefect server", argv, prefect_environment(home, port), home / "server.log"
    )


def start_runner(home: Path, port: int, portal: str | None = None) -> ManagedProcess:
    """The deployment runner against the local server; its runs link reports to `portal`."""
    argv = [sys.executable, "-m", "finops_agent.orchestration.runner"]
    env = prefect_environment(home, port)
    if portal is not None:
        # artifacts and emails of served runs open the served report, not a file:// path
        env["FINOPS_PUBLIC_URL"] = portal
    return ManagedProcess("deployment runner", argv, env, home / "serve.log")


def start_portal(home: Path, port: int, settings: Settings) -> ManagedProcess:
    """The reports portal (uvicorn) on settings.portal_host:portal_port over the reports folder."""
    argv = [sys.executable, "-m", "finops_agent.serve"]
    env = prefect_environment(home, port)
    env.update(
        FINOPS_PORTAL_HOST=settings.portal_host,
        FINOPS_PORTAL_PORT=str(settings.portal_port),
        FINOPS_OUTPUT_DIR=str(Path(settings.output_dir).resolve()),
    )
    return ManagedProcess("reports portal", argv, env, home / "portal.log")


def portal_health_url(settings: Settings) -> str:
    """Where the launcher checks the portal: its own address, loopback for a wildcard."""
    host = settings.portal_host
    if host in ("0.0.0.0", "::", ""):
        host = HOST
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.portal_port}"


class _Stop(Exception):
    """Raised in the launcher's main thread by SIGTERM/SIGINT."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_launcher(
    home: Path, port: int, *, settings: Settings | None = None, announce: bool = True
) -> int:
    """Run server, then runner and portal, until a signal or a child exits; stop in reverse."""
    settings = settings or load_settings()
    try:
        check_bind(settings)
    except PortalConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _raise_stop)
    children: list[ManagedProcess] = []
    code = 0
    try:
        server = start_server(home, port)
        children.append(server)
        took = wait_healthy(server, api_url(port))
        portal = start_portal(home, port, settings)
        children.append(portal)
        # the runner registers the deployments while the portal starts: neither waits on the other
        children.append(start_runner(home, port, settings.portal_url))
        wait_healthy(portal, portal_health_url(settings))
        if announce:
            token = (
                "\nFINOPS_SERVE_TOKEN is set: open reports with ?token=<the token> once per browser."
                if settings.serve_token
                else ""
            )
            print(
                f"Prefect UI: http://{HOST}:{port} (server healthy in {took:.1f} s)\n"
                f"Reports:    {settings.portal_url}/{token}\n"
                f"logs: {', '.join(str(c.log) for c in children)}\n"
                "Ctrl-C stops the runner and the portal, then the server.",
                flush=True,
            )
        while all(c.running() for c in children):
            time.sleep(_POLL_S)
        dead = next(c for c in children if not c.running())
        print(f"{dead.name} exited; last log lines:\n{dead.log_tail()}", file=sys.stderr)
        code = 1
    except _Stop:
        code = 0
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    finally:
        # ignore further signals while stopping so a second Ctrl-C cannot orphan the server
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        for child in reversed(children):
            child.stop()
    return code
