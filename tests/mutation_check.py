"""Mutation check: does some test fail when a stored query returns nothing, or a planted amount moves a cent?

For each stored query, a copy of queries/ is made in which that one query's SQL is wrapped in
`select * from (...) where false`; the query tests then run against the copy in a fresh pytest
process. A run that still passes is a *surviving mutant*: no test looks at that query's rows.
With --planted, each mutant instead adds one cent to one planted amount in the generator's
ground truth (as if the data held a cent less than planted); a surviving one is an amount no
test checks to the cent.

    python -m tests.mutation_check                 # every query, the ground-truth tests
    python -m tests.mutation_check top_movers gp2_volumes
    python -m tests.mutation_check --planted
    python -m tests.mutation_check --tests tests/integration/test_benchmark_baseline.py

The mutation reaches the tests through FINOPS_TEST_QUERIES_DIR or FINOPS_TEST_SHIFT_PLANTED,
which this module (loaded as a pytest plugin with `-p tests.mutation_check`) applies before
any test runs.
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
SHIFT_ENV = "FINOPS_TEST_SHIFT_PLANTED"
# one amount per planted finding (first resource, first month of the tested window) and the totals
PLANTED_AMOUNTS = (
    "planted.gp2_volumes.0.cost_by_month.2026-10",
    "planted.previous_generation.0.cost_by_month.2026-10",
    "planted.idle_eips.0.cost_by_month.2026-10",
    "planted.cross_az.0.cost_by_month.2026-10",
    "planted.nat_gateway.gateways.0.cost_by_month.2026-10",
    "planted.untagged_top.0.cost_by_month.2026-10",
    "planted.s3_standard_heavy.0.cost_by_month.2026-10",
    "planted.egress.0.cost_by_month.2026-10",
    "planted.reserved_cache.0.cost_by_month.2026-10",
    "planted.reserved_cache.0.effective_cost_by_month.2026-10",
    "planted.reserved_cache.0.on_demand_cost_by_month.2026-10",
    "planted.spike.cost",
    "planted.owner_by_service.notebooks.3.amortized_cost",
    "planted.owner_by_service.likely_owner_cost",
    "planted.tagging.keys.owner.by_value.team-data.amortized_cost",
    # groups sorted by account and service: 4 is prod-platform's EC2, 9 its S3, 27 dev-sandbox's EC2
    "planted.tagging.keys.owner.by_account_service.4.tagged_cost",
    "planted.tagging.keys.environment.by_account_service.9.total_cost",
    "planted.tagging.keys.owner.by_account_service.27.untagged_cost_by_month.2026-10",
    "planted.tagging.keys.owner.untagged_top.0.amortized_cost",
    "planted.tagging.environment_values.qa.amortized_cost",
    "planted.tagging.environment_values.(absent).amortized_cost",
    "planted.usage_by_account.111122223333.us-east-1.AmazonS3",
    "planted.growth.cost_by_month.2026-11",
    "planted.movers.grows.usage_cost_by_month.2026-10",
    "planted.movers.shrinks.usage_cost_by_month.2026-09",
    "planted.top_mover.earlier_cost",
    "planted.top_mover.later_cost",
    "planted.top_mover.change_usd",
    "planted.top_mover.change_pct",
    "planted.refund.amount",
    "savings_plan.used_by_month.2026-10",
    "savings_plan.commitment_by_month.2026-10",
    "totals.unblended_cost",
    "totals.amortized_cost",
    "totals.upfront_fees",
    "totals.amortized_upfront",
    "totals.by_month.2026-10.unblended_cost",
    # the bill waterfall, line by line
    "waterfall.usage_on_demand",
    "waterfall.usage_covered",
    "waterfall.commitment_offset",
    "waterfall.commitment_fees",
    "waterfall.upfront_purchases",
    "waterfall.credits",
    "waterfall.refunds",
    "waterfall.tax",
    "waterfall.net_total",
    "waterfall.amortized_total",
)
# the tests that hold query results against planted values or sums taken from the raw files
# (the benchmark's pandas baseline is left out by default: it re-implements every query, so it
# kills every mutant without saying whether any number is right)
TRUTH_TESTS = (
    "tests/integration/test_queries_library.py",
    "tests/integration/test_bill_truth.py",
    "tests/integration/test_tag_coverage.py",
    "tests/unit/test_rules_planted.py",
    "tests/integration/test_architecture_tagging_truth.py",
)
_RUN_TIMEOUT_S = 1800


def shift(truth: dict[str, Any], path: str, amount: float) -> None:
    """Add `amount` to the number at dotted `path` (list items by index) in the ground truth."""
    *parents, last = path.split(".")
    node: Any = truth
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = round(node[last] + amount, 6)


def pytest_configure(config: Any) -> None:
    """Pytest hook: apply the mutation named by FINOPS_TEST_QUERIES_DIR or FINOPS_TEST_SHIFT_PLANTED."""
    shifted = os.environ.get(SHIFT_ENV)
    if shifted:
        _shift_generated_truth(shifted)
    folder = os.environ.get(QUERIES_ENV)
    if not folder:
        return
    from finops_agent import resources

    original = resources._root

    def mutated_root(name: str) -> Path:
        return Path(folder) if name == "queries" else original(name)

    # queries_dir() looks _root up at call time, so every caller sees the copy
    resources._root = mutated_root  # type: ignore[assignment]


def _shift_generated_truth(path: str) -> None:
    import json

    from finops_agent import sample_data

    real = sample_data.generate

    def generate(schema: Any, out: Path, **kwargs: Any) -> dict[str, Any]:
        truth = real(schema, out, **kwargs)
        shift(truth, path, 0.01)
        (out / "ground_truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True))
        return truth

    # the test fixtures import generate when they run, after this hook
    sample_data.generate = generate  # type: ignore[assignment]


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
    try:
        return _run_tests(name, tests, {QUERIES_ENV: str(copy)})
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def _run_tests(name: str, tests: list[str], mutation: dict[str, str]) -> tuple[str, float]:
    env = {**os.environ, **mutation}
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
    parser.add_argument(
        "--planted", action="store_true", help="shift planted amounts by a cent instead"
    )
    args = parser.parse_args(argv)
    verdicts: dict[str, str] = {}
    if args.planted:
        names = args.queries or list(PLANTED_AMOUNTS)
        for name in names:
            verdict, seconds = _run_tests(name, args.tests, {SHIFT_ENV: name})
            verdicts[name] = verdict
            print(f"{verdict:8}  {name} + $0.01  ({seconds:.0f} s)", flush=True)
    else:
        stored = _stored_queries()
        unknown = sorted(set(args.queries) - set(stored))
        if unknown:
            parser.error(f"no stored query named {', '.join(unknown)}")
        names = args.queries or sorted(stored)
        with tempfile.TemporaryDirectory(prefix="finops-mutants-") as workdir:
            for name in names:
                verdict, seconds = run_mutant(name, stored[name], args.tests, Path(workdir))
                verdicts[name] = verdict
                print(f"{verdict:8}  {name}  ({seconds:.0f} s)", flush=True)
    survivors = [n for n, v in verdicts.items() if v == "survived"]
    errors = [n for n, v in verdicts.items() if v == "error"]
    print(f"\n{len(names) - len(survivors) - len(errors)} killed, {len(survivors)} survived")
    if survivors:
        what = (
            "amounts no test checks to the cent"
            if args.planted
            else "queries without a test of their rows"
        )
        print(f"{what}: " + ", ".join(survivors))
    if errors:
        print("no verdict (pytest error or timeout): " + ", ".join(errors))
    return 1 if survivors or errors else 0


if __name__ == "__main__":
    sys.exit(main())
