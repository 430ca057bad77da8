"""Analyse any Athena result file: profile its columns, chart it, find savings (`finops analyze`)."""
