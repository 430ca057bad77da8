"""`finops history`, `finops log replay` and `finops setup dynamodb`."""

from __future__ import annotations

import csv
import datetime as dt
import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from finops_agent.cli.errors import friendly_errors
from finops_agent.errors import UserError
from finops_agent.settings import load_settings
from finops_agent.store.base import Interaction
from finops_agent.store.factory import build_store

history_app = typer.Typer(
    help="Interactions logged by reports and chat.", invoke_without_command=True
)
log_app = typer.Typer(help="The interaction log itself.")
setup_app = typer.Typer(help="Create the AWS resources finops-agent uses.")
out = Console()


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    except ValueError:
        raise UserError(f"--since must be YYYY-MM-DD, not {value!r}") from None


def _select(
    session: str | None, report: str | None, since: str | None, limit: int
) -> list[Interaction]:
    store = build_store(load_settings())
    start = _since(since)
    if session:
        items = store.by_session(session)
    elif report:
        items = store.by_report(report)
    else:
        return store.recent(start, limit)
    items = [i for i in items if start is None or i.timestamp >= start.isoformat()]
    return sorted(items, key=lambda i: i.timestamp, reverse=True)[:limit]


@history_app.callback()
@friendly_errors
def history(
    ctx: typer.Context,
    session: Annotated[str | None, typer.Option(help="Only this chat session")] = None,
    report: Annotated[str | None, typer.Option(help="Only this report id")] = None,
    since: Annotated[str | None, typer.Option(help="Only after YYYY-MM-DD")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 50,
) -> None:
    """List logged interactions, newest first."""
    if ctx.invoked_subcommand:
        return
    table = Table("time", "kind", "report", "session", "question", "model", "ms", "rating")
    for item in _select(session, report, since, limit):
        # questions are user text: shown literally, never as markup
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    item.timestamp[:19],
                    item.kind,
                    item.report_id,
                    item.session_id[:12],
                    item.user_query[:60],
                    item.model,
                    f"{item.latency_ms:.0f}",
                    {1: "good", -1: "bad"}.get(item.rating or 0, ""),
                )
            )
        )
    out.print(table)


@history_app.command()
@friendly_errors
def stats(since: Annotated[str | None, typer.Option(help="Only after YYYY-MM-DD")] = None) -> None:
    """Sessions, latency percentiles, error rate, ratings and the most used prompts."""
    items = build_store(load_settings()).recent(_since(since), limit=100_000)
    if not items:
        out.print("no interactions logged yet")
        return
    latency = sorted(i.latency_ms for i in items)
    cuts = statistics.quantiles(latency, n=100) if len(latency) > 1 else latency * 99
    table = Table("measure", "value", title=f"{len(items)} interactions")
    per_session = Counter(i.session_id for i in items if i.session_id)
    table.add_row("sessions", str(len(per_session)))
    if per_session:
        counts = sorted(per_session.values())
        table.add_row(
            "interactions per session (median / max)",
            f"{statistics.median(counts):g} / {counts[-1]}",
        )
    table.add_row("reports", str(len({i.report_id for i in items if i.report_id})))
    for kind, count in Counter(i.kind for i in items).most_common():
        table.add_row(f"kind {kind}", str(count))
    table.add_row(
        "latency p50 / p90 / p99 (ms)", f"{cuts[49]:.0f} / {cuts[89]:.0f} / {cuts[98]:.0f}"
    )
    table.add_row("error rate", f"{sum(1 for i in items if i.error) / len(items):.1%}")
    ratings = Counter(i.rating for i in items if i.rating)
    table.add_row("ratings good / bad", f"{ratings.get(1, 0)} / {ratings.get(-1, 0)}")
    table.add_row("model cost (USD)", f"{sum(i.cost_usd for i in items):.4f}")
    for query, count in Counter(i.user_query for i in items).most_common(5):
        table.add_row("most asked", Text(f"{count}× {query[:70]}"))
    out.print(table)


@history_app.command()
@friendly_errors
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--out", help="File (default: stdout)")] = None,
    since: Annotated[str | None, typer.Option(help="Only after YYYY-MM-DD")] = None,
) -> None:
    """Every interaction as JSON lines or CSV."""
    if fmt not in ("jsonl", "csv"):
        raise UserError(f"--format must be jsonl or csv, not {fmt!r}")
    items = build_store(load_settings()).recent(_since(since), limit=10_000_000)
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "jsonl":
            for item in items:
                handle.write(json.dumps(item.to_dict(), ensure_ascii=False, default=str) + "\n")
        else:
            rows = [
                {**item.to_dict(), "data_context": json.dumps(item.data_context, default=str)}
                for item in items
            ]
            writer = csv.DictWriter(handle, fieldnames=list(Interaction.__dataclass_fields__))
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if output:
            handle.close()


@log_app.command()
@friendly_errors
def replay() -> None:
    """Deliver interactions spooled while DynamoDB was unreachable."""
    from finops_agent.store.dynamodb import replay_spool

    delivered = replay_spool(build_store(load_settings()))
    out.print(f"delivered {delivered} spooled interaction(s)")


@setup_app.command("dynamodb")
@friendly_errors
def setup_dynamodb(
    pitr: Annotated[bool, typer.Option(help="Enable point-in-time recovery")] = False,
) -> None:
    """Create the interaction table with its indexes, on-demand billing and TTL (idempotent)."""
    from finops_agent.store.dynamodb import DynamoDBStore

    for line in DynamoDBStore.from_settings(load_settings()).create_table(pitr=pitr):
        out.print(line, markup=False, emoji=False, highlight=False)
