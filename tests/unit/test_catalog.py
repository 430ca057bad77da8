"""The catalog and the SQL files agree, and the generated reference is current."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from sqlglot import exp

from finops_agent.catalog import (
    FAMILIES,
    WINDOW_PARAMS,
    CatalogError,
    fill_slots,
    load_catalog,
    placeholders,
    template_slots,
    validate,
)
from finops_agent.catalog_docs import DOC_PATH, render
from finops_agent.insights.query_rules import SPECIAL_RULES
from finops_agent.resources import queries_dir

# The queries whose results the rule engine turns into findings, as the catalog should say.
FINDING_QUERIES = {
    "gp2_volumes": "savings",
    "untagged_spend": "allocation",
    "cross_az_data_transfer": "savings",
    "nat_gateway_without_endpoints": "savings",
    "previous_generation_instances": "savings",
    "graviton_candidates": "savings",
    "idle_elastic_ips": "savings",
    "s3_storage_class_mix": "savings",
}


def test_every_placeholder_is_declared_every_file_catalogued_every_parameter_used() -> None:
    assert validate(load_catalog()) == []


def test_the_library_covers_each_family() -> None:
    catalog = load_catalog()
    names = {family: sorted(q.name for q in catalog.family(family)) for family in FAMILIES}
    assert names == {
        "architecture": [
            "cross_az_data_transfer",
            "data_transfer_out",
            "gp2_volumes",
            "graviton_candidates",
            "idle_elastic_ips",
            "nat_gateway_without_endpoints",
            "previous_generation_instances",
            "public_ipv4_charges",
            "s3_storage_class_mix",
            "workload_fingerprint",
        ],
        "tagging": [
            "cost_by_tag",
            "orphan_candidates",
            "owner_by_service_cluster",
            "owner_by_start_time",
            "tag_coverage",
            "tag_value_hygiene",
            "untagged_spend",
            "untagged_top_resources",
        ],
        "cost": [
            "amortized_vs_unblended",
            "bill_waterfall",
            "commitment_coverage_utilization",
            "daily_anomalies",
            "month_end_forecast",
            "month_over_month_by_service",
            "spend_by_account_monthly",
            "spend_by_region",
            "spend_by_service_daily",
            "top_movers",
            "top_resources",
            "window_totals",
        ],
    }


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


@pytest.mark.parametrize("adapter", ["cur", "cur2", "focus"])
def test_every_source_adapter_binds_the_billing_window(adapter: str) -> None:
    # the window placeholders are never declared per query: each adapter binds them for all
    assert {"start_date", "end_date"} == WINDOW_PARAMS
    sql = (queries_dir() / "sources" / f"{adapter}.sql").read_text(encoding="utf-8")
    filled = fill_slots(sql, {slot: f"slot_{slot}" for slot in template_slots(sql)})
    assert placeholders(filled) >= {"start_date", "end_date"}
    declared = {p.name for spec in load_catalog().queries.values() for p in spec.params}
    assert not declared & {"start_date", "end_date"}


def test_unknown_families_and_queries_are_named() -> None:
    catalog = load_catalog()
    with pytest.raises(CatalogError, match="security"):
        catalog.select(["security"])
    with pytest.raises(CatalogError, match="nope"):
        catalog.select(None, ["nope"])


def _returns_savings(sql: str) -> bool:
    tree = sqlglot.parse_one(sql, read="athena")
    return isinstance(tree, exp.Query) and "monthly_savings" in tree.named_selects


def test_every_query_that_produces_findings_has_finding_metadata_and_no_other_does() -> None:
    catalog = load_catalog()
    # what produces findings, judged without the metadata: a savings column or a special rule
    producing = {
        name for name, spec in catalog.queries.items() if _returns_savings(spec.sql)
    } | set(SPECIAL_RULES)
    described = {name: s.finding.kind for name, s in catalog.queries.items() if s.finding}
    assert described == FINDING_QUERIES
    assert set(described) == producing
    assert set(SPECIAL_RULES) <= set(catalog.queries), "a special rule names no stored query"


def test_finding_metadata_is_read_from_the_catalog() -> None:
    meta = load_catalog().queries["gp2_volumes"].finding
    assert meta is not None
    assert (meta.headline(3), meta.effort, meta.risk) == (
        "Migrate 3 gp2 EBS volumes to gp3",
        "low",
        "low",
    )
    assert "gp3 is 20% cheaper per GB-month" in meta.assumption


# --- a broken catalog is refused with one line naming the query, the key and what is allowed ---


def _catalog_copy(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """The project's queries/ copied under tmp_path with catalog.yaml changed by `change`."""
    root = tmp_path / "queries"
    shutil.copytree(queries_dir(), root)
    path = root / "catalog.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _set(query: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["queries"][query][key] = value

    return change


def _set_finding(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["queries"]["gp2_volumes"]["finding"][key] = value

    return change


def _drop_finding_key(key: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        del raw["queries"]["gp2_volumes"]["finding"][key]

    return change


def _top_level_findings(raw: dict[str, Any]) -> None:
    raw["findings"] = {"no_such_query": {"title": "x", "effort": "low"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # an effort outside the three levels
        (
            _set_finding("effort", "tiny"),
            r"query 'gp2_volumes': finding\.effort is 'tiny', not one of low, medium, high$",
        ),
        # a risk outside the three levels (case matters: the report styles by the value)
        (
            _set_finding("risk", "High"),
            r"query 'gp2_volumes': finding\.risk is 'High', not one of low, medium, high$",
        ),
        # a kind the rule engine does not know
        (
            _set_finding("kind", "anomaly"),
            r"finding\.kind is 'anomaly', not one of savings, allocation$",
        ),
        # metadata without its action
        (_drop_finding_key("action"), r"query 'gp2_volumes': finding lacks action$"),
        # an empty assumption says nothing about how the saving is priced
        (
            _set_finding("assumption", " "),
            r"query 'gp2_volumes': finding\.assumption must be non-empty text, not ' '$",
        ),
        # a misspelt key is not silently ignored
        (
            _set_finding("efort", "low"),
            r"query 'gp2_volumes': finding: unknown key efort; allowed: title, action, effort",
        ),
        # a title slot the rule engine never fills
        (
            _set_finding("title", "Migrate {n} volumes"),
            r"finding\.title: unknown slot \{n\}; allowed: \{count\}$",
        ),
        # the old boolean flag: the wording must come with it
        (
            _set("gp2_volumes", "finding", True),
            r"query 'gp2_volumes': finding must be a mapping with title, action, effort",
        ),
        # the old top-level savings text left beside a finding block
        (
            _set("gp2_volumes", "savings", "20%"),
            r"query 'gp2_volumes': unknown key savings; allowed: family,",
        ),
        # finding metadata outside any query's entry names no query it belongs to
        (_top_level_findings, r"unknown top-level key findings; everything about a query"),
        # a follow-up question with a slot nobody fills
        (
            _set("top_resources", "follow_up", {"rank": 1, "question": "Who owns {owner}?"}),
            r"query 'top_resources': follow_up\.question: unknown slot \{owner\}",
        ),
    ],
)
def test_bad_finding_metadata_is_refused_on_load(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = _catalog_copy(tmp_path, change)
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_a_savings_query_without_finding_metadata_is_a_problem(tmp_path: Path) -> None:
    def drop(raw: dict[str, Any]) -> None:
        del raw["queries"]["gp2_volumes"]["finding"]

    path = _catalog_copy(tmp_path, drop)
    assert validate(load_catalog(path), path.parent) == [
        "gp2_volumes.sql: returns monthly_savings but catalog.yaml gives it no finding block"
    ]


def test_finding_metadata_on_a_query_without_savings_is_a_problem(tmp_path: Path) -> None:
    def add(raw: dict[str, Any]) -> None:
        raw["queries"]["spend_by_region"]["finding"] = dict(
            raw["queries"]["gp2_volumes"]["finding"]
        )

    path = _catalog_copy(tmp_path, add)
    assert validate(load_catalog(path), path.parent) == [
        "spend_by_region.sql: its finding is of kind savings but the query returns no "
        "monthly_savings column"
    ]
