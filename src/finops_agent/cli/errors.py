"""The error boundary of every `finops` command: user mistakes exit 2, bugs exit 1, both in one line.

Only a `UserError` (or an outside failure `user_error_from` recognises as the user's: no AWS
credentials, a denied action, a permission) is shown as `error: <message>` with exit code 2.
Anything else is a bug and says so: `error: unexpected <Type>: <message> (run with --debug for
the traceback)`, exit code 1. `--debug` prints the traceback first. Messages are printed as
plain text, never as Rich markup, because they quote paths, ids and questions users typed.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from finops_agent.errors import user_error_from

__all__ = ["EXIT_BUG", "EXIT_USER_ERROR", "err", "fail", "friendly_errors", "warn"]

err = Console(stderr=True)
_state: dict[str, bool] = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_BUG = 1


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def fail(message: str) -> None:
    """Print `error: <message>` literally (no markup) on stderr."""
    err.print(
        Text("error: ", style="bold red") + Text(_one_line(message)),
        highlight=False,
        soft_wrap=True,
    )


def warn(message: str) -> None:
    """Print `warning: <message>` literally (no markup) on stderr."""
    err.print(
        Text("warning: ", style="yellow") + Text(_one_line(message)),
        highlight=False,
        soft_wrap=True,
    )


def friendly_errors(func: F) -> F:
    """Show a UserError as one line with exit 2 and any other exception as a bug with exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own exits and usage errors already say what they mean
        except Exception as exc:
            if _state["debug"]:
                err.print(
                    Text("".join(traceback.format_exception(exc))), highlight=False, soft_wrap=True
                )
            user = user_error_from(exc)
            if user is not None:
                fail(str(user) or type(user).__name__)
                raise typer.Exit(EXIT_USER_ERROR) from None
            detail = _one_line(str(exc))
            fail(
                f"unexpected {type(exc).__name__}{f': {detail}' if detail else ''} "
                "(run with --debug for the traceback)"
            )
            raise typer.Exit(EXIT_BUG) from None

    return wrapper  # type: ignore[return-value]
