"""Mutation check of the stored queries: does some test fail when a query returns nothing?

For each stored query, a copy of queries/ is made in which that one query's SQL is wrapped in
`select * from (...) where false`; the query tests then run against the copy in a fresh pytest
process. A run that still passes is a *surviving mutant*: no test looks at that query's rows.

    python -m tests.mutation_check                 # every query, the ground-truth tests
    python -m tests.mutation_check top_movers gp2_volumes
    python -m tests.mutation_check --tests tests/integration/test_benchmark_baseline.py

The copy is found through the FINOPS_TEST_QUERIES_DIR variable, which this module (loaded as a
pytest plugin with `-p tests.mutation_check`) applies before any test runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUERIES_ENV = "FINOPS_TEST_QUERIES_DIR"
# the tests that hold query results against planted values or sums taken from the raw files
# (the benchmark's pandas baseline is left out by default: it re-implements every query, so it
# kills every mutant without saying whether any number is right)
TRUTH_TESTS = (
    "tests/integration/test_queries_library.py",
    "tests/integration/test_tag_coverage.py",
    "tests/unit/test_rules_planted.py",
)
_RUN_TIMEOUT_S = 1800


def pytest_configure(config: Any) -> None:
    """Pytest hook: point the code at the mutated copy of queries/ named by FINOPS_TEST_QUERIES_DIR."""
    folder = os.environ.get(QUERIES_ENV)
    if not folder:
        return
    from finops_agent import resources

    original = resources._root

    def mutated_root(name: str) -> Path:
        return Path(folder) if name == "queries" else original(name)

    # queries_dir() looks _root up at call time, so every caller sees the copy
    resources._root = mutated_root  # type: ignore[assignment]


def mutate(queries: Path, relative: Path) -> None:
    """Make the stored query at queries/`relative` return no rows, keeping its columns."""
    path = queries / relative
    sql = path.read_text(encoding="utf-8")
    # the closing parenthesis on its own line: the file may end in a line comment
    path.write_text(f"select * from (\n{sql}\n) as mutant where false\n", encoding="utf-8")


def _stored_queries() -> dict[str, Path]:
    sys.path.insert(0, str(ROOT / "src"))
    from finops_agent.catalog import load_catalog
    from finops_agent.resources import queries_dir

    root = queries_dir()
    return {
        name: spec.path.resolve().relative_to(root.resolve())
        for name, spec in load_catalog().queries.items()
    }


def run_mutant(name: str, relative: Path, tests: list[str], workdir: Path) -> tuple[str, float]:
    """Run `tests` against queries/ with `name` emptied; return (killed|survived|error, seconds)."""
    from finops_agent.resources import queries_dir

    copy = workdir / name
    shutil.copytree(queries_dir(), copy)
    mutate(copy, relative)
    env = {**os.environ, QUERIES_ENV: str(copy)}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.mutation_check",
        *tests,
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, timeout=_RUN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return "error", time.monotonic() - started
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    # pytest exit codes: 0 all passed, 1 some test failed; anything else is not a verdict
    outcome = {0: "survived", 1: "killed"}.get(done.returncode, "error")
    if outcome == "error":
        tail = done.stdout.decode(errors="replace").strip().splitlines()[-3:]
        print(f"  {name}: pytest exited {done.returncode}: {' | '.join(tail)}", file=sys.stderr)
    return outcome, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """Run the check; exit 1 when a mutant survives or a run gives no verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", nargs="*", help="stored query names (default: every query)")
    parser.add_argument(
        "--tests", nargs="+", default=list(TRUTH_TESTS), help="test files to run per mutant"
    )
    args = parser.parse_args(argv)
    stored = _stored_queries()
    unknown = sorted(set(args.queries) - set(stored))
    if unknown:
        parser.error(f"no stored query named {', '.join(unknown)}")
    names = args.queries or sorted(stored)
    verdicts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="finops-mutants-") as workdir:
        for name in names:
            verdict, seconds = run_mutant(name, stored[name], args.tests, Path(workdir))
            verdicts[name] = verdict
            print(f"{verdict:8}  {name}  ({seconds:.0f} s)", flush=True)
    survivors = [n for n, v in verdicts.items() if v == "survived"]
    errors = [n for n, v in verdicts.items() if v == "error"]
    print(f"\n{len(names) - len(survivors) - len(errors)} killed, {len(survivors)} survived")
    if survivors:
        print("queries without a test of their rows: " + ", ".join(survivors))
    if errors:
        print("no verdict (pytest error or timeout): " + ", ".join(errors))
    return 1 if survivors or errors else 0


if __name__ == "__main__":
    sys.exit(main())
