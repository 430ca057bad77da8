"""Locate the stored SQL and templates, in a checkout or inside an installed wheel."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def _root(name: str) -> Path:
    packaged = Path(str(resources.files("finops_agent"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"cannot find the {name}/ folder next to finops_agent or in the checkout"
    )


def queries_dir() -> Path:
    """Folder holding catalog.yaml and the stored SQL."""
    return _root("queries")


def templates_dir() -> Path:
    """Folder holding the Jinja report and email templates."""
    return _root("templates")
