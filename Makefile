# JourneyLens — set-up commands. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
EXTRAS_RUN := spark,polars,postgres,text,models
EXTRAS_TEST := $(EXTRAS_RUN),dev,bench
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CUSTOMERS ?= 50000
DEMO_WAREHOUSE ?= demo-data/journeylens.duckdb
DEMO_APPDB ?= sqlite:///demo-data/journeylens.db
PYTEST_ARGS ?=

.PHONY: help install install-test system-deps demo test test-fast fuzz lint bench clean

help:
	@echo "make demo   - install, generate the demo bank dataset, ingest it and serve the dashboard"
	@echo "make test   - install everything (Java, PostgreSQL, Chromium included) and run the whole suite"
	@echo "make fuzz   - fuzz the whole HTTP API deeper than the suite does (schemathesis)"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - run the benchmark scripts in bench/ (long)"

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

# torch first, pinned to the local CPU wheel, so no extra can pull a CUDA build.
$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[$(EXTRAS_RUN)]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[$(EXTRAS_TEST)]"
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test system-deps

# Java for Spark, PostgreSQL for the app-database tests, Chromium for the browser tests.
system-deps:
	@bash scripts/system-deps.sh

demo: install system-deps
	JOURNEYLENS_APP_DATABASE_URL=$(DEMO_APPDB) JOURNEYLENS_PUBLIC_URL=http://$(HOST):$(PORT) $(VENV)/bin/journeylens --warehouse $(DEMO_WAREHOUSE) demo --customers $(DEMO_CUSTOMERS) --out demo-data --surveys
	JOURNEYLENS_APP_DATABASE_URL=$(DEMO_APPDB) $(VENV)/bin/journeylens user add demo@journeylens.local --role admin --password journeylens-demo --exist-ok
	JOURNEYLENS_APP_DATABASE_URL=$(DEMO_APPDB) $(VENV)/bin/journeylens --warehouse $(DEMO_WAREHOUSE) --journey demo-data/bank.journey.yaml maturity assess > /dev/null
	@echo ""
	@echo "  JourneyLens demo: http://$(HOST):$(PORT)/   sign in as demo@journeylens.local / journeylens-demo"
	@echo ""
	JOURNEYLENS_APP_DATABASE_URL=$(DEMO_APPDB) JOURNEYLENS_JOURNEY=demo-data/bank.journey.yaml \
	  $(VENV)/bin/journeylens --warehouse $(DEMO_WAREHOUSE) serve --host $(HOST) --port $(PORT)

test: install-test
	@bash scripts/run-tests.sh $(PYTEST_ARGS)

test-fast: install-test
	$(VENV)/bin/pytest -q -m "not slow and not spark and not browser" $(PYTEST_ARGS)

# The suite fuzzes every operation with 3 examples; this pass tries many more.
fuzz: install-test
	JOURNEYLENS_FUZZ_EXAMPLES=$${JOURNEYLENS_FUZZ_EXAMPLES:-25} $(VENV)/bin/pytest -q -p no:cacheprovider tests/surfaces/api/test_fuzz.py

lint: install-test
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: install-test
	$(PY) bench/ingest.py
	$(PY) bench/journeys.py
	$(PY) bench/metrics.py
	$(PY) bench/collector.py
	$(PY) bench/dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .pgdata bench/out demo-data
