# Sequence Models from Scratch — the two commands of the quick start are `make lab` and `make test`.
# Both create .venv (if missing) and install the pinned environment into it first.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seqlab-installed
LAB_ARGS ?=
# The folder `make lab` opens (tests/test_browser.py points it at a scratch copy of notebooks/).
NOTEBOOKS ?= notebooks
# Jupyter refuses to run as root unless told (containers, CI machines).
LAB_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
JOBS ?= 2
# The numerical code paths every kernel computes on (seqlab.numerics.PINNED_ENVIRONMENT), as NAME=VALUE words.
PINNED_NUMERICS = $$($(BIN)/python -c 'from seqlab.numerics import PINNED_ENVIRONMENT as e; print(*(f"{k}={v}" for k, v in e.items()))')
export SEQLAB_PROGRESS ?= 0
# nbgrader calls the `alembic` executable: the venv's bin must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help install proxy hub-proxy lab test test-fast nbval lint format execute release bench bench-grading clean

help:
	@echo "make lab        start JupyterLab on notebooks/ (sets up .venv first)"
	@echo "make test       the whole test suite (sets up .venv first)"
	@echo "make test-fast  the suite without notebook execution or autograding"
	@echo "make execute    execute solutions/ in fresh kernels and store outputs"
	@echo "make release    regenerate notebooks/ from solutions/ with nbgrader"
	@echo "make lint       ruff on the package, tests and notebooks"
	@echo "make bench      time solution execution and grading per lesson, then class grading throughput"
	@echo "make bench-grading  grading throughput of a class with 1 and 2 workers"

$(STAMP): pyproject.toml requirements/constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version' \
		|| { echo "Set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e ".[dev]"
	touch $(STAMP)

# JupyterHub's proxy (configurable-http-proxy, from the npm registry at the version deploy/proxy pins) for the hub
# of docs/deployment.md and tests/test_hub.py: installed into .venv/proxy when npm is present, else skipped.
PROXY := $(BIN)/configurable-http-proxy
$(PROXY): deploy/proxy/package.json deploy/proxy/package-lock.json | $(STAMP)
	mkdir -p $(VENV)/proxy
	cp deploy/proxy/package.json deploy/proxy/package-lock.json $(VENV)/proxy/
	cd $(VENV)/proxy && npm ci --no-audit --no-fund --loglevel=error
	ln -sf ../proxy/node_modules/.bin/configurable-http-proxy $(PROXY)

proxy: $(PROXY)

# The proxy if npm can install it; a note (not a failure) otherwise: only the hub test needs it.
hub-proxy: | $(STAMP)
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: JupyterHub's proxy is not installed (only the hub test needs it; see docs/deployment.md)"; \
	elif ! $(MAKE) --no-print-directory proxy; then \
		echo "warning: JupyterHub's proxy could not be installed from the npm registry (only the hub test needs it)"; fi

install: $(STAMP) hub-proxy

lab: $(STAMP)
	SEQLAB_PROGRESS=1 env $(PINNED_NUMERICS) $(BIN)/jupyter lab --ServerApp.root_dir=$(NOTEBOOKS) $(LAB_ROOT) $(LAB_ARGS)

test: $(STAMP) hub-proxy
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --durations=25

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow"

nbval: $(STAMP)
	$(BIN)/python -m pytest -p no:xdist --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg solutions
	$(BIN)/python -m pytest -p no:xdist --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg solutions

lint: $(STAMP)
	$(BIN)/ruff check helpers tests deploy nbgrader_config.py
	$(BIN)/ruff format --check helpers tests deploy nbgrader_config.py
	$(BIN)/nbqa ruff solutions
	$(BIN)/nbqa "ruff format" --check solutions

format: $(STAMP)
	$(BIN)/ruff format helpers tests deploy nbgrader_config.py
	$(BIN)/ruff check --fix helpers tests deploy nbgrader_config.py

execute: $(STAMP)
	$(BIN)/seqlab execute

release: $(STAMP)
	$(BIN)/seqlab release

bench: $(STAMP)
	$(BIN)/python tests/bench.py
	$(BIN)/python tests/bench_grading.py

bench-grading: $(STAMP)
	$(BIN)/python tests/bench_grading.py

clean:
	rm -rf _grading _build .pytest_cache
