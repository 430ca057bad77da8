"""Bounded waits for tests: every poll and every join has a deadline and fails naming what it waited for."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import pytest

_POLL_S: float = 0.02


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail the test after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(_POLL_S)


def join_all(threads: Iterable[threading.Thread], timeout_s: float, what: str) -> None:
    """Join every thread within one shared deadline; fail the test naming the ones still running."""
    threads = list(threads)
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = [t.name for t in threads if t.is_alive()]
    if running:
        pytest.fail(f"{what}: {', '.join(running)} still running after {timeout_s:g} s")
