"""Run the code against an edited copy of queries/: the stored SQL, the catalog and the adapters."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from finops_agent import resources


def copy_queries(dest: Path) -> Path:
    """A copy of the shipped queries/ folder at `dest`, to edit."""
    shutil.copytree(resources.queries_dir(), dest)
    return dest


def point_queries_at(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make every module that finds queries/ through `queries_dir` find `folder` instead."""
    original = resources.queries_dir
    for name, module in list(sys.modules.items()):
        if name.startswith("finops_agent") and getattr(module, "queries_dir", None) is original:
            monkeypatch.setattr(module, "queries_dir", lambda: folder)
    monkeypatch.setattr(resources, "queries_dir", lambda: folder)
