"""`finops`, the command line: the root app and one module per group of commands."""

from finops_agent.cli.main import app, run

__all__ = ["app", "run"]
