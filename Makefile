# Two commands matter: `make demo` and `make test`. Both build .venv themselves.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect

.PHONY: demo test check lint types fix clean venv bench serve mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/finops demo

# Debian's chromium renders chart images and runs the browser tests (installed once, as root).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# Local Prefect server + UI on 127.0.0.1:4200 (FINOPS_SERVE_PORT) serving every deployment,
# and the reports portal with its chat on 127.0.0.1:4201 (FINOPS_PORTAL_PORT).
serve: $(STAMP)
	$(BIN)/python deployments/serve.py

# dynalite (npm) is the local DynamoDB the store tests start; pinned by package-lock.json.
DYNALITE := node_modules/.bin/dynalite
$(DYNALITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(DYNALITE)

test: $(STAMP) $(CHROMIUM) $(DYNALITE)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests flows deployments benchmarks
	$(BIN)/ruff format --check src tests flows deployments benchmarks

types: $(STAMP)
	$(BIN)/python -m mypy

check: lint types test

fix: $(STAMP)
	$(BIN)/ruff check --fix src tests flows deployments benchmarks
	$(BIN)/ruff format src tests flows deployments benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/athena_scan.py --schema cur2 --schema cur --schema focus

# empty each stored query in turn; a query whose tests still pass has no test of its rows
mutation: $(STAMP)
	$(BIN)/python -m tests.mutation_check

clean:
	rm -rf $(VENV) .prefect .pytest_cache .mypy_cache .ruff_cache
