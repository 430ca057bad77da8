"""Raw billing exports (CUR, CUR 2.0, FOCUS) given to `finops analyze`: the `finops report` to run."""

from __future__ import annotations

import datetime as dt
import shlex

from finops_agent.analyze.dataset import Dataset

SCHEMA_NAMES: dict[str, str] = {
    "cur": "a legacy CUR export",
    "cur2": "a CUR 2.0 export",
    "focus": "a FOCUS export",
}


def report_commands(dataset: Dataset) -> list[str]:
    """The `finops report` command for each file of a billing export, over the file's own dates."""
    if dataset.billing_schema is None:
        return []
    window: list[str] = []
    if dataset.coverage is not None:
        first, last = dataset.coverage
        # --end is the day after the last one, as everywhere in `finops report`
        window = ["--start", first.isoformat(), "--end", (last + dt.timedelta(days=1)).isoformat()]
    return [
        shlex.join(
            ["finops", "report", "--source", path, "--schema", dataset.billing_schema, *window]
        )
        for path in dataset.files
    ]


def export_note(dataset: Dataset, *, code: bool = False) -> str | None:
    """One sentence saying the file is a billing export and which command reports on it.

    With `code`, each command is wrapped in backticks for markdown.
    """
    if dataset.billing_schema is None:
        return None
    quote = "`" if code else ""
    commands = " and ".join(f"{quote}{c}{quote}" for c in report_commands(dataset))
    return (
        f"{dataset.label} is {SCHEMA_NAMES[dataset.billing_schema]}: this profile reads it as a "
        f"plain table. The full report (bill, services, commitments, tags, anomalies) runs the "
        f"stored queries on it: {commands}"
    )
