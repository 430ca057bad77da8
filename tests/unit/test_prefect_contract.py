"""What the orphan reaper assumes about Prefect's private ephemeral launcher, checked on the pinned Prefect.

The reaper recognises a temporary Prefect API server by its command line and one private
environment variable. If an upgrade changes how Prefect launches that server, these tests fail
instead of the reaper silently finding nothing.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from finops_agent import prefect_env


class _Launched(Exception):
    """Raised by the fake Popen to stop Prefect right after it built the command."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        super().__init__("launched")
        self.args_ = args
        self.env = env


def _capture_launch(monkeypatch: pytest.MonkeyPatch) -> _Launched:
    from prefect.server.api import server as prefect_server

    def fake_popen(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[Any]:
        raise _Launched(list(args), dict(env))

    monkeypatch.setattr(prefect_server.subprocess, "Popen", fake_popen)
    with pytest.raises(_Launched, match="launched") as caught:
        prefect_server.SubprocessASGIServer(port=None)._run_uvicorn_command()
    return caught.value


def test_prefects_ephemeral_server_runs_the_app_the_reaper_looks_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    launched = _capture_launch(monkeypatch)
    assert prefect_env._EPHEMERAL_APP.decode() in launched.args_
    name, value = prefect_env._EPHEMERAL_FLAG.decode().split("=", 1)
    assert launched.env.get(name) == value


def test_profile_settings_reach_the_temporary_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_DATABASE_TIMEOUT, temporary_settings

    # a value set the way a profile sets it is passed on to the server Prefect starts
    with temporary_settings(updates={PREFECT_API_DATABASE_TIMEOUT: 42.5}):
        launched = _capture_launch(monkeypatch)
    assert launched.env.get("PREFECT_SERVER_DATABASE_TIMEOUT") == "42.5"
