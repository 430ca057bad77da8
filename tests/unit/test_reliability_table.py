"""The README's reliability table lists exactly the fault and hostile-input tests that exist."""

from __future__ import annotations

from tests.reliability import README, render, rows


def test_readme_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert text == render(text), (
        "README reliability table is stale: run `python -m tests.reliability`"
    )


def test_the_table_covers_faults_and_hostile_input() -> None:
    kinds = {kind for kind, _, _ in rows()}
    assert kinds == {"Fault injected", "Hostile or broken input"}
    assert len(rows()) >= 20
