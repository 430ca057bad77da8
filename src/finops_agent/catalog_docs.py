"""Generate docs/queries.md from queries/catalog.yaml: `python -m finops_agent.catalog_docs [PATH]`."""

from __future__ import annotations

import sys
from pathlib import Path

from finops_agent.catalog import FAMILIES, Catalog, load_catalog

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "queries.md"
_FAMILY_TITLES = {
    "architecture": "Architecture inference",
    "tagging": "Tagging correlation",
    "cost": "Cost analysis",
}


def render(catalog: Catalog) -> str:
    """The query reference as markdown, one section per family, one entry per query."""
    lines = [
        "# Stored query reference",
        "",
        "Generated from `queries/catalog.yaml` by `python -m finops_agent.catalog_docs`; do not edit by hand.",
        "Every query is Athena (Trino) SQL in `queries/<family>/<name>.sql` reading the canonical `cost`",
        "relation, and runs unchanged on DuckDB. `:start_date` and `:end_date` (the billing window) are always",
        "bound; the parameters below are bound too and can be overridden per run.",
        "",
    ]
    for family in FAMILIES:
        specs = catalog.family(family)
        lines += [f"## {_FAMILY_TITLES[family]} ({len(specs)})", ""]
        for spec in specs:
            lines += [f"### `{spec.name}` — {spec.title}", "", spec.description, ""]
            if spec.why:
                lines += [f"*Why it matters:* {spec.why}", ""]
            chart = (
                spec.chart.kind
                if spec.chart.kind == "table"
                else f"{spec.chart.kind} of `{spec.chart.y}` by `{spec.chart.x}`"
            )
            lines += [f"- Shown as: {chart}"]
            if spec.finding is not None:
                f = spec.finding
                lines += [
                    f"- Finding ({f.kind}): *{f.title.format(count='N')}* — effort {f.effort}, risk {f.risk}",
                    f"  - Action: {f.action}",
                    f"  - Savings assumption: {f.assumption}",
                ]
            if spec.follow_up is not None:
                lines += [
                    f"- Follow-up question (rank {spec.follow_up.rank}): {spec.follow_up.question}"
                ]
            if spec.units:
                lines += ["- Units: " + ", ".join(f"`{c}` {u}" for c, u in spec.units.items())]
            for param in spec.params:
                lines += [
                    f"- Parameter `{param.name}` ({param.type}, default `{param.default}`): {param.description}"
                ]
            lines += [""]
    return "\n".join(lines)


def main() -> None:
    """Write the reference to the path given, or to docs/queries.md."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOC_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(load_catalog()), encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main()
