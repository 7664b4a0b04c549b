# Every target installs what it needs into .venv from scratch: a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

# Sage (passagemath) lives in its own environment, outside the clone so that it is installed
# once per machine. If it cannot be installed, the Sage tests say so and are skipped.
SAGE_VENV ?= $(HOME)/.cache/codenode/sage-venv
SAGE_PACKAGES := passagemath-repl==10.8.13 passagemath-symbolics[maxima]==10.8.13 \
  passagemath-pari==10.8.13 passagemath-plot==10.8.13
SAGE_STAMP := $(SAGE_VENV)/.installed-10.8.13-plot

.PHONY: run test lint bench format clean sage-env

# Engines start faster from compiled modules, even where PYTHONDONTWRITEBYTECODE is set:
# compile what changed since the last time before anything starts an engine.
COMPILE := $(BIN)/python -m compileall -q codenode

run: $(STAMP) sage-env
	$(COMPILE)
	$(BIN)/codenode run

test: $(STAMP) sage-env
	$(COMPILE)
	$(BIN)/pytest

sage-env:
	@test -f $(SAGE_STAMP) || { \
	  echo "Installing passagemath into $(SAGE_VENV) for the Sage engine type (once)"; \
	  { test -x $(SAGE_VENV)/bin/python || $(PYTHON) -m venv $(SAGE_VENV); } && \
	  $(SAGE_VENV)/bin/python -m pip install --quiet $(SAGE_PACKAGES) && touch $(SAGE_STAMP); \
	} || echo "passagemath could not be installed: the Sage tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check codenode tests bench plugins
	$(BIN)/ruff format --check codenode tests bench plugins
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format codenode tests bench plugins
	$(BIN)/ruff check --fix codenode tests bench plugins

bench: $(BENCH_STAMP)
	$(COMPILE)
	$(BIN)/python -m bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
