"""`python -m finops_agent` runs the CLI."""

from finops_agent.cli import run

run()
