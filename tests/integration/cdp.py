"""A small Chrome DevTools Protocol client: headless Chromium, one page, console errors, screenshots.

Playwright is not installed here and choreographer (kaleido's driver) adds
`--disable-web-security`, so the tests drive Chromium themselves with exactly the
flags the issue names, a fresh user-data-dir and `websockets` (already a Prefect dependency).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_START_TIMEOUT_S = 20.0


def chromium_path() -> str | None:
    """The system Chromium, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The system Chromium; without one the test fails in CI (CI set) and is skipped elsewhere.

    A CI run that silently skips the browser tests would report green without having
    looked at a single rendered chart.
    """
    binary = chromium_path()
    if binary is None:
        message = "Chromium is not installed (make test installs Debian's chromium)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{message}; CI is set, so a missing browser fails the run")
        pytest.skip(message)
    return binary


@dataclass
class PageLoad:
    """What happened while one page loaded."""

    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Every console error and uncaught exception."""
        return self.console_errors + self.exceptions


class Chromium:
    """A headless Chromium with one page target, driven over its DevTools WebSocket."""

    def __init__(self, binary: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="finops-chromium-")
        self._proc = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "--window-size=1280,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._devtools_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t["type"] == "page")
        self._ws: ClientConnection = connect(page["webSocketDebuggerUrl"], max_size=None)
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def _devtools_port(self) -> int:
        # Chromium writes the port it picked into the profile once it listens
        marker = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._proc.returncode} at start")
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().splitlines()[0])
            time.sleep(0.05)
        raise TimeoutError(f"chromium did not open DevTools within {_START_TIMEOUT_S} s")

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Call one DevTools method and return its result; events seen meanwhile are kept."""
        self._next_id += 1
        call_id = self._next_id
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            # a page that keeps sending events must not keep this loop alive past its deadline
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method}: no answer from Chromium within {timeout} s")
            message = json.loads(self._ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return dict(message.get("result", {}))
            self._record(message)

    def _record(self, message: dict[str, Any]) -> None:
        if "method" not in message:
            return
        self._events.append(message)
        if message["method"] == "Page.javascriptDialogOpening":
            # a dialog blocks the page: dismiss it at once (and count it as a failure later)
            self._next_id += 1
            self._ws.send(
                json.dumps(
                    {
                        "id": self._next_id,
                        "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": True},
                    }
                )
            )

    def _wait_for(self, event: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["method"] == event for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Chromium sent no {event} within {timeout} s")
            message = json.loads(self._ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            self._record(message)

    def load(self, url: str, settle_s: float = 0.5, timeout: float = 60.0) -> PageLoad:
        """Open url, wait for the load event and a short settle, and report what went wrong."""
        self._events.clear()
        self.send("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired", timeout)
        # let Plotly's deferred layout and any late errors land
        time.sleep(settle_s)
        self.evaluate("1")
        out = PageLoad()
        for event in self._events:
            params = event.get("params", {})
            match event["method"]:
                case "Runtime.consoleAPICalled" if params.get("type") in ("error", "assert"):
                    out.console_errors.append(
                        " ".join(
                            str(a.get("value", a.get("description", ""))) for a in params["args"]
                        )
                    )
                case "Log.entryAdded" if params["entry"]["level"] == "error":
                    out.console_errors.append(params["entry"]["text"])
                case "Runtime.exceptionThrown":
                    details = params["exceptionDetails"]
                    out.exceptions.append(
                        details.get("exception", {}).get("description", details.get("text", ""))
                    )
                case "Network.requestWillBeSent":
                    out.requests.append(params["request"]["url"])
                case "Page.javascriptDialogOpening":
                    out.dialogs.append(params.get("message", ""))
                case _:
                    pass
        return out

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole scroll height by default)."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        try:
            self._ws.close()
        finally:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            # Chromium's helper processes can still be writing the profile for a moment
            # after the browser process exits (seen on a loaded machine): retry briefly
            for _ in range(50):
                try:
                    self._profile.cleanup()
                    break
                except OSError:
                    time.sleep(0.1)
