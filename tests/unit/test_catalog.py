"""The catalog and the SQL files agree, and the generated reference is current."""

from __future__ import annotations

import pytest

from finops_agent.catalog import FAMILIES, CatalogError, load_catalog, placeholders, validate
from finops_agent.catalog_docs import DOC_PATH, render


def test_every_placeholder_is_declared_every_file_catalogued_every_parameter_used() -> None:
    assert validate(load_catalog()) == []


def test_the_library_covers_each_family() -> None:
    catalog = load_catalog()
    counts = {family: len(catalog.family(family)) for family in FAMILIES}
    assert counts["architecture"] >= 9 and counts["tagging"] >= 8 and counts["cost"] >= 10
    # every finding-producing query says how it prices savings
    assert all(
        spec.savings
        for spec in catalog.queries.values()
        if spec.finding and spec.name != "untagged_spend"
    )


def test_every_query_opens_with_the_question_it_answers() -> None:
    for spec in load_catalog().queries.values():
        first = spec.sql.lstrip().splitlines()[0]
        assert first.startswith("-- ") and first.endswith("?"), spec.name


def test_docs_are_generated_from_the_current_catalog() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(load_catalog()), (
        "docs/queries.md is stale: run `python -m finops_agent.catalog_docs`"
    )


def test_parameters_are_typed_and_bad_values_named() -> None:
    spec = load_catalog().queries["daily_anomalies"]
    assert spec.bind({"high_z": "3.5"})["high_z"] == 3.5
    with pytest.raises(CatalogError, match="high_z"):
        spec.bind({"high_z": "very"})
    assert {"start_date", "end_date"} <= placeholders(
        load_catalog().queries["window_totals"].sql
    ) | {"start_date", "end_date"}


def test_unknown_families_and_queries_are_named() -> None:
    catalog = load_catalog()
    with pytest.raises(CatalogError, match="security"):
        catalog.select(["security"])
    with pytest.raises(CatalogError, match="nope"):
        catalog.select(None, ["nope"])
