"""Checks on the SQL the Athena engine sends, against Glue schemas transcribed from AWS's tables.

Nothing here renders SQL: the statement and its execution parameters come from
`AthenaEngine.prepare`, the code path `execute` sends to Athena. Each statement is then
(a) parsed with Trino's own grammar (trino-query-parser), (b) type-checked with sqlglot
(qualify + annotate_types against the Glue fixture) through a small table of function
signatures, (c) checked for `?` outside WHERE clauses and a `?` count that differs from the
parameters, and (d) checked for a predicate on the table's partition columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
import trino_query_parser
from antlr4 import CommonTokenStream, InputStream
from antlr4.atn.PredictionMode import PredictionMode
from antlr4.error.Errors import ParseCancellationException
from antlr4.error.ErrorStrategy import BailErrorStrategy
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema
from sqlglot.tokens import TokenType
from trino_query_parser.SqlBaseLexer import SqlBaseLexer
from trino_query_parser.SqlBaseParser import SqlBaseParser

__all__ = [
    "DATABASE",
    "FLAVOURS",
    "GlueTable",
    "check_statement",
    "glue_table",
]

GLUE_DIR = Path(__file__).resolve().parents[1] / "data" / "glue"
FLAVOURS = ("cur", "cur2", "focus_1_0", "focus_1_1", "focus_1_2")
DATABASE = "cur"

_TEXT = frozenset({exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT})
_JSON_INPUT = _TEXT | {exp.DataType.Type.JSON}
_TEMPORAL = frozenset(exp.DataType.TEMPORAL_TYPES) | {exp.DataType.Type.DATE}
_NUMERIC = frozenset(exp.DataType.NUMERIC_TYPES)
_MAP = frozenset({exp.DataType.Type.MAP})
_MAP_OR_ARRAY = frozenset({exp.DataType.Type.MAP, exp.DataType.Type.ARRAY})
# types that say nothing: a NULL literal, or an expression sqlglot could not type
_UNTYPED = frozenset({exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL})


@dataclass(frozen=True)
class _Signature:
    """Which arguments of a function node must be of which types (Trino's rules)."""

    function: str
    arguments: tuple[str, ...]
    accepted: frozenset[exp.DataType.Type]
    needs: str


# Trino's signatures for the functions the stored SQL uses, keyed by sqlglot node class
_SIGNATURES: dict[type[exp.Expression], _Signature] = {
    exp.JSONExtractScalar: _Signature(
        "json_extract_scalar", ("this",), _JSON_INPUT, "varchar or json"
    ),
    exp.JSONExtract: _Signature("json_extract", ("this",), _JSON_INPUT, "varchar or json"),
    exp.ParseJSON: _Signature("json_parse", ("this",), _TEXT, "varchar"),
    exp.MapKeys: _Signature("map_keys", ("this",), _MAP, "a map"),
    exp.Bracket: _Signature("element_at", ("this",), _MAP_OR_ARRAY, "a map or an array"),
    exp.DateAdd: _Signature("date_add", ("this",), _TEMPORAL, "date or timestamp"),
    exp.DateDiff: _Signature("date_diff", ("this", "expression"), _TEMPORAL, "date or timestamp"),
    exp.TimestampTrunc: _Signature("date_trunc", ("this",), _TEMPORAL, "date or timestamp"),
    exp.DateTrunc: _Signature("date_trunc", ("this",), _TEMPORAL, "date or timestamp"),
    exp.DayOfWeekIso: _Signature("day_of_week", ("this",), _TEMPORAL, "date or timestamp"),
    exp.Lower: _Signature("lower", ("this",), _TEXT, "varchar"),
    exp.Upper: _Signature("upper", ("this",), _TEXT, "varchar"),
    exp.Trim: _Signature("trim", ("this",), _TEXT, "varchar"),
    exp.Replace: _Signature("replace", ("this",), _TEXT, "varchar"),
    exp.Substring: _Signature("substr", ("this",), _TEXT, "varchar"),
    exp.RegexpExtract: _Signature("regexp_extract", ("this",), _TEXT, "varchar"),
    exp.RegexpLike: _Signature("regexp_like", ("this",), _TEXT, "varchar"),
    exp.Like: _Signature("like", ("this",), _TEXT, "varchar"),
    exp.Sum: _Signature("sum", ("this",), _NUMERIC, "a number"),
    exp.Avg: _Signature("avg", ("this",), _NUMERIC, "a number"),
}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


@dataclass(frozen=True)
class GlueTable:
    """One Glue table fixture: its columns and partition keys with their Glue types."""

    flavour: str
    table: str
    columns: dict[str, str]
    partition_keys: tuple[str, ...]

    def types(self) -> dict[str, str]:
        """Columns and partition keys with their types, as the engine's `source_columns` returns them."""
        return dict(self.columns)

    def schema(self) -> MappingSchema:
        """The table as a sqlglot schema in the Athena dialect."""
        return MappingSchema({DATABASE: {self.table: self.columns}}, dialect="athena")


def glue_table(flavour: str, *, retype: dict[str, str] | None = None) -> GlueTable:
    """The Glue fixture for `flavour` (tests/data/glue), optionally with some columns retyped."""
    body = json.loads((GLUE_DIR / f"{flavour}.json").read_text(encoding="utf-8"))
    columns = {name: kind for name, kind in [*body["columns"], *body["partition_keys"]]}
    for name, kind in (retype or {}).items():
        if name not in columns:
            raise KeyError(f"{flavour} has no column {name}")
        columns[name] = kind
    return GlueTable(
        flavour,
        f"{flavour}_table",
        columns,
        tuple(name for name, _ in body["partition_keys"]),
    )


def _with_values(text: str, values: list[str]) -> exp.Expression:
    """`text` with each `?` replaced by its execution parameter in text order (as Athena binds), parsed."""
    marks = [
        t for t in sqlglot.tokenize(text, read="athena") if t.token_type == TokenType.PLACEHOLDER
    ]
    for token, value in reversed(list(zip(marks, values, strict=True))):
        text = text[: token.start] + value + text[token.end + 1 :]
    return sqlglot.parse_one(text, read="athena")


def _placeholder_problems(text: str, tree: exp.Expression, values: list[str]) -> Iterator[str]:
    marks = [
        t for t in sqlglot.tokenize(text, read="athena") if t.token_type == TokenType.PLACEHOLDER
    ]
    if len(marks) != len(values):
        yield f"{len(marks)} `?` in the text but {len(values)} execution parameters"
    for mark in tree.find_all(exp.Placeholder):
        clause = mark.find_ancestor(exp.Where, exp.Select, exp.Having, exp.Join, exp.Filter)
        if not (isinstance(clause, exp.Where) and isinstance(clause.parent, exp.Select)):
            where = type(clause).__name__.lower() if clause is not None else "statement"
            yield f"a `?` sits in a {where}, not a WHERE clause: {mark.parent.sql('athena')}"


def _type_of(node: exp.Expression | None) -> exp.DataType | None:
    if not isinstance(node, exp.Expression) or node.type is None:
        return None
    return None if node.type.this in _UNTYPED else node.type


def _type_problems(tree: exp.Expression, table: GlueTable) -> Iterator[str]:
    schema = table.schema()
    try:
        typed = annotate_types(
            qualify(tree, schema=schema, dialect="athena", validate_qualify_columns=True),
            schema=schema,
            dialect="athena",
        )
    except OptimizeError as exc:
        yield f"does not resolve against the Glue columns: {exc}"
        return
    for node in typed.walk():
        signature = _SIGNATURES.get(type(node))
        if signature is not None:
            if isinstance(node, exp.Bracket) and not node.args.get("safe"):
                continue
            for argument in signature.arguments:
                found = _type_of(node.args.get(argument))
                if found is not None and found.this not in signature.accepted:
                    yield (
                        f"{signature.function} takes {signature.needs}, got {found.sql('athena')}: "
                        f"{node.sql('athena')[:120]}"
                    )
        if isinstance(node, _COMPARISONS):
            left, right = _type_of(node.this), _type_of(node.expression)
            if left is None or right is None:
                continue
            kinds = {left.this, right.this}
            if (kinds & _TEMPORAL and kinds & _TEXT) or (kinds & _MAP):
                yield (
                    f"cannot compare {left.sql('athena')} with {right.sql('athena')}: "
                    f"{node.sql('athena')[:120]}"
                )


def _partition_problems(tree: exp.Expression, table: GlueTable) -> Iterator[str]:
    if not table.partition_keys:
        return
    for select in tree.find_all(exp.Select):
        source = select.args.get("from_")
        if not (isinstance(source, exp.From) and isinstance(source.this, exp.Table)):
            continue
        if source.this.name.lower() != table.table:
            continue
        where = select.args.get("where")
        filtered = {c.name.lower() for c in where.find_all(exp.Column)} if where else set()
        missing = [k for k in table.partition_keys if k not in filtered]
        if missing:
            yield f"the read of {table.table} has no predicate on partition column(s) {missing}"
        return
    yield f"no SELECT reads {table.table}"


def _count_parameters(node: Any) -> int:
    """How many `?` parameter nodes an ANTLR parse tree of Trino's grammar holds."""
    if isinstance(node, SqlBaseParser.ParameterContext):
        return 1
    return sum(_count_parameters(child) for child in getattr(node, "children", None) or [])


def trino_parameters(text: str) -> int:
    """Parse `text` with Trino's grammar; return its `?` count, raise TrinoSyntaxError if it fails.

    ANTLR's fast SLL prediction parses these statements in a tenth of the time of full LL;
    a statement SLL cannot decide is parsed again with full LL (trino_query_parser's own entry
    point), which either succeeds or raises the real syntax error.
    """
    parser = SqlBaseParser(CommonTokenStream(SqlBaseLexer(InputStream(text.upper()))))
    parser._interp.predictionMode = PredictionMode.SLL
    parser.removeErrorListeners()
    parser._errHandler = BailErrorStrategy()
    try:
        return _count_parameters(parser.singleStatement())
    except ParseCancellationException:
        tree = trino_query_parser.parse_statement_tree(text)
        return _count_dict_parameters(tree)


def _count_dict_parameters(tree: Any) -> int:
    """The `parameter` nodes of parse_statement_tree's nested dicts."""
    if isinstance(tree, dict):
        return sum((key == "parameter") + _count_dict_parameters(v) for key, v in tree.items())
    if isinstance(tree, list):
        return sum(_count_dict_parameters(v) for v in tree)
    return 0


def check_statement(text: str, values: list[str], table: GlueTable) -> list[str]:
    """Every way `text` with `values` would fail on Athena over `table`; empty when it would run."""
    problems: list[str] = []
    try:
        found = trino_parameters(text)
    except trino_query_parser.TrinoSyntaxError as exc:
        problems.append(f"Trino's grammar rejects it at {exc}")
    else:
        if found != len(values):
            problems.append(f"Trino's grammar finds {found} parameters, {len(values)} are sent")
    tree = sqlglot.parse_one(text, read="athena")
    problems.extend(_placeholder_problems(text, tree, values))
    problems.extend(_partition_problems(tree, table))
    if len(list(tree.find_all(exp.Placeholder))) == len(values):
        problems.extend(_type_problems(_with_values(text, values), table))
    return problems
