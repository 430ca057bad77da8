"""Result files (CSV, CSV.gz, Parquet) as DuckDB views: how to read them, and how to rebuild their views."""
