"""`finops chat REPORT_ID` (a REPL) and `finops ask REPORT_ID "question"` (one scriptable answer)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text

from finops_agent.cli.errors import friendly_errors
from finops_agent.errors import UserError
from finops_agent.settings import load_settings

if TYPE_CHECKING:
    from finops_agent.chat.session import ChatSession, ChatTurn

__all__ = ["app", "ask_command", "chat_command"]

app = typer.Typer(help="Follow-up questions on a report, answered with SQL over its data.")
_err = Console(stderr=True)
_HELP = """Commands:
  /prompts           list the report's suggested prompts (type a number to ask one)
  /sql SELECT ...    run your own SQL over the report's data (`cost`, or `results`)
  /good              rate the last answer good
  /bad [comment]     rate the last answer bad, optionally saying why
  /quit              leave (Ctrl-D works too)
Anything else is a question."""


def _open(report_id: str, out: Path | None, session_id: str | None = None) -> ChatSession:
    from finops_agent.chat.session import ChatSession

    # a bad or missing report id is a UserError: the CLI boundary prints it as one line
    session = ChatSession.from_settings(load_settings(output_dir=out), report_id, session_id)
    for warning in session.warnings:
        _err.print(Text("warning: ", style="yellow") + Text(warning), highlight=False)
    return session


def _show(console: Console, turn: ChatTurn) -> None:
    console.print(Markdown(turn.answer))
    if turn.sql and turn.mode != "prompt":
        console.print(Text(f"SQL: {turn.sql}", style="dim"), highlight=False, soft_wrap=True)
    for flag in turn.ungrounded:
        console.print(Text("not found in the data: ", style="yellow") + Text(flag.number))
    for warning in turn.warnings:
        _err.print(Text("warning: ", style="yellow") + Text(warning), highlight=False)


@contextlib.contextmanager
def _history(path: Path) -> Iterator[None]:
    try:
        import readline
    except ImportError:  # no line editing on this platform; the REPL still works
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            readline.set_history_length(1000)
            readline.write_history_file(path)


def _prompts_text(session: ChatSession) -> str:
    lines = [f"{i}. {p.text}" for i, p in enumerate(session.prompts, start=1)]
    return "\n".join(lines) or "This report has no suggested prompts."


def _command(session: ChatSession, line: str, console: Console) -> bool:
    """Handle a /command; return False when the REPL should end."""
    name, _, rest = line.partition(" ")
    rest = rest.strip()
    if name in ("/quit", "/exit", "/q"):
        return False
    actions: dict[str, Callable[[], None]] = {
        "/prompts": lambda: console.print(Text(_prompts_text(session)), highlight=False),
        "/help": lambda: console.print(_HELP, highlight=False, markup=False, emoji=False),
        "/good": lambda: _rate(session, True, None, console),
        "/bad": lambda: _rate(session, False, rest or None, console),
        "/sql": lambda: _show(console, session.ask("/sql " + rest)),
    }
    action = actions.get(name)
    if action is None:
        console.print(Text(f"unknown command {name}; /help lists them"), highlight=False)
    else:
        action()
    return True


def _rate(session: ChatSession, good: bool, comment: str | None, console: Console) -> None:
    try:
        session.rate(good, comment)
    except (ValueError, RuntimeError) as exc:
        console.print(Text(str(exc), style="yellow"), highlight=False)
        return
    console.print("Thanks, rating saved.", highlight=False)


@friendly_errors
def chat_command(
    report_id: Annotated[
        str, typer.Argument(help="Report id (the folder name under the output dir)")
    ],
    out: Annotated[Path | None, typer.Option(help="Output folder holding the reports")] = None,
) -> None:
    """Chat about a report: questions, suggested prompts (by number) and SQL over `cost`."""
    session = _open(report_id, out)
    console = Console()
    window = session.report.window
    span = f" ({window.start} to {window.end}, end exclusive)" if window else ""
    tables = ", ".join(f"`{r}`" for r in sorted(session.relations))
    who = (
        f"Questions are answered by {session.model.model_id} with SQL over {tables}.\n"
        if session.model is not None
        else (
            "Without Bedrock: ask in plain words (totals, top services or accounts, shares, "
            "growth, daily spend, savings findings), a suggested prompt by number, or SQL over "
            f"{tables}.\n"
            if session.answers_offline
            else f"Without Bedrock: ask a suggested prompt by number, or SQL over {tables}.\n"
        )
    )
    console.print(
        Text("Chat on report ")
        + Text(report_id, style="bold")
        + Text(f"{span}. /help for commands.\n" + who + _prompts_text(session)),
        highlight=False,
    )
    try:
        with _history(session.settings.home / "chat_history"):
            while True:
                try:
                    line = console.input("[bold cyan]finops>[/] ").strip()
                except (EOFError, KeyboardInterrupt):
                    console.print()
                    break
                if not line:
                    continue
                if line.startswith("/") and not line.lower().startswith("/sql"):
                    if not _command(session, line, console):
                        break
                    continue
                _show(console, session.ask(line))
    finally:
        session.close()


@friendly_errors
def ask_command(
    report_id: Annotated[
        str, typer.Argument(help="Report id (the folder name under the output dir)")
    ],
    question: Annotated[
        str, typer.Argument(help="A question, a prompt number, or SQL over `cost`")
    ],
    rate: Annotated[str | None, typer.Option("--rate", help="Rate the answer: good or bad")] = None,
    comment: Annotated[str | None, typer.Option(help="Comment stored with --rate")] = None,
    session: Annotated[
        str | None,
        typer.Option(help="Continue this session (its id is printed on stderr after each answer)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder holding the reports")] = None,
) -> None:
    """Answer one question about a report on stdout (exit 1 when it was not answered)."""
    if rate not in (None, "good", "bad"):
        raise UserError(f"--rate must be good or bad, not {rate!r}")
    if not question.strip():
        raise UserError("the question is empty")
    chat = _open(report_id, out, session)
    try:
        turn = chat.ask(question)
        typer.echo(turn.answer)
        if turn.sql and turn.mode != "prompt":
            typer.echo(f"\nSQL: {turn.sql}")
        for flag in turn.ungrounded:
            _err.print(
                f"not found in the data: {flag.number}", highlight=False, markup=False, emoji=False
            )
        for warning in turn.warnings:
            _err.print(f"warning: {warning}", highlight=False, markup=False, emoji=False)
        if rate is not None:
            _rate(chat, rate == "good", comment, _err)
        _err.print(f"session: {chat.session_id}", highlight=False, markup=False, emoji=False)
    finally:
        chat.close()
    # scripts can tell an answer from a refusal or a failure by the exit code
    if turn.mode in ("error", "help", "refusal"):
        raise typer.Exit(1)


app.command("chat")(chat_command)
app.command("ask")(ask_command)
