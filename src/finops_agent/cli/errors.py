"""How every `finops` command reports bad input: one line, exit code 2, traceback only with --debug."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from finops_agent.catalog import CatalogError
from finops_agent.engines.base import QueryError
from finops_agent.identifiers import UnsafeIdentifierError
from finops_agent.sources import SourceError
from finops_agent.wiring import ConfigurationError

err = Console(stderr=True)
_state: dict[str, bool] = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

# Errors users cause with their input: one line, no traceback (unless --debug).
_USER_ERRORS: tuple[type[BaseException], ...] = (
    SourceError,
    QueryError,
    CatalogError,
    ConfigurationError,
    UnsafeIdentifierError,
    FileNotFoundError,
    ValueError,
    KeyError,
)


def friendly_errors(func: F) -> F:
    """Turn user-input errors into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _USER_ERRORS as exc:
            if _state["debug"]:
                raise
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            err.print(
                f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]
