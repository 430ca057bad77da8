"""Open result files (CSV, CSV.gz, Parquet) as DuckDB views without pulling them into pandas."""

from __future__ import annotations

import codecs
import gzip
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from finops_agent.errors import UserError

FileFormat = Literal["csv", "parquet"]

_SAMPLE_BYTES: int = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Control bytes that never occur in a text CSV (tab, LF, CR and form feed are allowed).
_BINARY_BYTES = frozenset(range(0, 9)) | frozenset({11}) | frozenset(range(14, 32))
_BINARY_SHARE: float = 0.01
_NULL_STRINGS: str = "['', 'NULL', 'null']"


class AnalyzeError(UserError, ValueError):
    """A file cannot be analysed; the message names the file and the problem."""


@dataclass(frozen=True)
class ReadOptions:
    """How DuckDB reads one file; stored in report.json so chat can reopen it."""

    path: str
    format: FileFormat = "csv"
    encoding: str = "utf-8"
    full_sample: bool = False

    def relation(self) -> str:
        """A DuckDB table function call that streams the file."""
        path = _literal(self.path)
        if self.format == "parquet":
            return f"read_parquet({path})"
        sample = ", sample_size=-1" if self.full_sample else ""
        # Athena result files always carry a header row; forcing it keeps all-text files right.
        # Billing exports write missing values as a literal NULL: read as empty, the column
        # keeps its number or timestamp type instead of turning into text.
        return (
            f"read_csv({path}, header=true, encoding={_literal(self.encoding)}, "
            f"nullstr={_NULL_STRINGS}{sample})"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready options."""
        return asdict(self)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """A DuckDB identifier for any column name (quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE_BYTES)
    if head.startswith(_GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read(_SAMPLE_BYTES)
        except (OSError, EOFError) as exc:
            raise AnalyzeError(f"{path}: looks gzip-compressed but cannot be read: {exc}") from None
    return head


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    odd = sum(1 for byte in sample if byte in _BINARY_BYTES)
    return odd > max(1, len(sample) * _BINARY_SHARE)


def _encoding(sample: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # final=False: a multi-byte character cut at the end of the sample is not an error
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def inspect_file(path: str | Path) -> ReadOptions:
    """Check that a file exists and is text or Parquet; choose its format and encoding."""
    file = Path(path)
    if not file.exists():
        raise AnalyzeError(f"{file}: no such file")
    if not file.is_file():
        raise AnalyzeError(f"{file}: is a folder, not a result file")
    if file.stat().st_size == 0:
        raise AnalyzeError(f"{file}: file is empty (0 bytes)")
    with file.open("rb") as handle:
        magic = handle.read(4)
    if magic == _PARQUET_MAGIC:
        return ReadOptions(str(file), "parquet")
    sample = _head(file)
    if sample.startswith(_UTF16_BOMS):
        raise AnalyzeError(f"{file}: UTF-16 text is not supported; save it as UTF-8 CSV")
    if _looks_binary(sample):
        raise AnalyzeError(f"{file}: binary file, not a CSV or Parquet result")
    if not sample.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise AnalyzeError(f"{file}: file holds only whitespace, no header or rows")
    return ReadOptions(str(file), "csv", _encoding(sample))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(con: duckdb.DuckDBPyConnection, options: ReadOptions) -> dict[str, str]:
    """Column name -> DuckDB type of a file, as DuckDB's CSV sniffer or Parquet footer says."""
    try:
        rows = con.execute(f"describe select * from {options.relation()}").fetchall()
    except duckdb.Error as exc:
        raise AnalyzeError(
            f"{options.path}: cannot read as {options.format}: {_first_line(exc)}"
        ) from None
    return {str(row[0]): str(row[1]) for row in rows}


def fallbacks(options: ReadOptions) -> list[ReadOptions]:
    """Options to try in order: as sniffed, then typing from every row, then Latin-1."""
    if options.format != "csv":
        return [options]
    # a bad byte after the sniffed sample, or a value that breaks the sniffed column type
    candidates = [
        options,
        ReadOptions(options.path, "csv", options.encoding, full_sample=True),
        ReadOptions(options.path, "csv", "latin-1", full_sample=True),
    ]
    return list(dict.fromkeys(candidates))
