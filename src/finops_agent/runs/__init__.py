"""Whole runs as plain functions: what the CLI calls in-process and the flows wrap."""
