# Every target installs what it needs into .venv from scratch: a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test lint bench format clean

# Engines start faster from compiled modules, even where PYTHONDONTWRITEBYTECODE is set:
# compile what changed since the last time before anything starts an engine.
COMPILE := $(BIN)/python -m compileall -q codenode

run: $(STAMP)
	$(COMPILE)
	$(BIN)/codenode run

test: $(STAMP)
	$(COMPILE)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check codenode tests bench
	$(BIN)/ruff format --check codenode tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format codenode tests bench
	$(BIN)/ruff check --fix codenode tests bench

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
