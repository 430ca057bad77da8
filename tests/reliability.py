"""The README's reliability table, generated from the `fault` and `hostile` test markers.

`python -m tests.reliability` rewrites the table in README.md; a test keeps it current.
Tests are found by reading the test files (ast), so the table is cheap to check.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"
KINDS = {"fault": "Fault injected", "hostile": "Hostile or broken input"}


def _marks(decorators: list[ast.expr]) -> set[str]:
    found = set()
    for node in decorators:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and sub.attr in KINDS and "mark" in ast.unparse(sub):
                found.add(sub.attr)
    return found


def _module_marks(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "pytestmark" for t in node.targets
        ):
            return _marks([node.value])
    return set()


def _sentence(name: str) -> str:
    words = re.sub(r"^test_", "", name).replace("_", " ")
    return words[0].upper() + words[1:]


def rows() -> list[tuple[str, str, str]]:
    """(kind, what is tried and what happens, where) for every marked test."""
    out = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = _module_marks(tree)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                for kind in sorted(module | _marks(node.decorator_list)):
                    out.append((KINDS[kind], _sentence(node.name), f"`{path.relative_to(ROOT)}`"))
    return out


def table() -> str:
    """The markdown table (every listed test passes in CI, or the submission does not land)."""
    lines = ["| kind | tried, and what the pipeline does | test |", "|---|---|---|"]
    lines += [f"| {kind} | {what} | {where} |" for kind, what, where in rows()]
    return "\n".join(lines)


def render(readme: str) -> str:
    """README text with the table between the markers replaced."""
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{len(rows())} rows written to {README}")
