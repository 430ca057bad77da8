"""Prefect settings this project wants before Prefect is imported: quiet, local, no telemetry."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)
_PROC = Path("/proc")
# what Prefect's SubprocessASGIServer runs for an ephemeral API, and the flag it sets
_EPHEMERAL_APP = b"prefect.server.api.server:create_app"
_EPHEMERAL_FLAG = b"PREFECT__SERVER_EPHEMERAL=1"
# programs whose ephemeral server is theirs while they live (a frozen `finops` binary too)
_RUNNERS = (b"python", b"finops", b"prefect")


def configure_prefect(home: Path | None = None) -> None:
    """Set Prefect's environment defaults (explicit environment values win)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_HOME", str((home or Path.cwd() / ".prefect").resolve()))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    # the first ephemeral start on a cold machine can take longer than the 20 s default
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    reap_orphaned_servers(os.environ["PREFECT_HOME"])


def orphaned_servers(prefect_home: str) -> list[int]:
    """Pids of ephemeral Prefect servers of this PREFECT_HOME whose parent run has died.

    Prefect starts its ephemeral API as a child process and stops it on a normal exit; a run
    killed with SIGKILL (the OOM killer, a scheduler's hard timeout) leaves it running for
    good, reparented to init (or a subreaper). Linux only: elsewhere nothing is found.
    """
    if not _PROC.is_dir():
        return []
    home = f"PREFECT_HOME={prefect_home}".encode()
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if _EPHEMERAL_APP not in (entry / "cmdline").read_bytes():
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
            # the parent pid follows the parenthesised command name in /proc/<pid>/stat
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile, or another user's
            continue
        state, parent = fields[0], int(fields[1])
        if state != "Z" and _EPHEMERAL_FLAG in environ and home in environ and _orphan(parent):
            found.append(int(entry.name))
    return found


def _orphan(parent: int) -> bool:
    """True when `parent` is init or a subreaper, not a run: runs are Python, finops or prefect."""
    if parent == 1:
        return True
    try:
        argv0 = (_PROC / str(parent) / "cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return True
    return not os.path.basename(argv0).startswith(_RUNNERS)


def reap_orphaned_servers(prefect_home: str) -> list[int]:
    """Stop the ephemeral Prefect servers that killed runs left behind; return their pids."""
    reaped = []
    for pid in orphaned_servers(prefect_home):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            continue
        log.warning("stopped ephemeral Prefect server %d left behind by a killed run", pid)
        reaped.append(pid)
    return reaped


def _profile_api_url(prefect_home: Path) -> str | None:
    """PREFECT_API_URL of the active profile in PREFECT_HOME/profiles.toml, read without Prefect."""
    import tomllib

    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home / "profiles.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active")
    profile = data.get("profiles", {}).get(active, {}) if isinstance(active, str) else {}
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return url if isinstance(url, str) and url else None


def _answers(url: str, timeout: float) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def prefect_server_url(serve_port: int, timeout: float = 0.3) -> str | None:
    """The API of a Prefect server CLI runs should be recorded in, or None to run in-process.

    A server counts when PREFECT_API_URL or the active Prefect profile names one, or when
    `finops serve` answers on 127.0.0.1 at FINOPS_SERVE_PORT.
    """
    named = os.environ.get("PREFECT_API_URL") or _profile_api_url(
        Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    )
    if named:
        return named
    local = f"http://127.0.0.1:{serve_port}/api"
    return local if _answers(local, timeout) else None
