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

# The browser UI: npm installs the pinned packages (package-lock.json), esbuild bundles them.
UI_STAMP := node_modules/.installed
UI_BUNDLE := codenode/frontend/ui/static/app.js
UI_SOURCES := $(shell find codenode/frontend/ui/src -type f) codenode/frontend/ui/build.mjs
# A sandboxed engine's init (PID 1 of its namespace) is a small C program: every idle engine
# keeps one. Without it the engines use a Python init (more memory, same behaviour).
INIT := codenode/engine/codenode-init
# The browser tests drive Debian's chromium (never a downloaded browser).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint bench format clean sage-env ui chromium

# Engines start faster from compiled modules, even where PYTHONDONTWRITEBYTECODE is set:
# compile what changed since the last time before anything starts an engine.
COMPILE := $(BIN)/python -m compileall -q codenode

run: $(STAMP) $(UI_BUNDLE) $(INIT) sage-env
	$(COMPILE)
	$(BIN)/codenode run

test: $(STAMP) $(UI_BUNDLE) $(INIT) chromium sage-env
	$(COMPILE)
	$(BIN)/pytest

# The inner loop: the in-process tests only (no backend, frontend or browser processes).
test-fast: $(STAMP) $(UI_BUNDLE) $(INIT)
	$(COMPILE)
	$(BIN)/pytest -m "not slow" -q -n 2

sage-env:
	@test -f $(SAGE_STAMP) || { \
	  echo "Installing passagemath into $(SAGE_VENV) for the Sage engine type (once)"; \
	  { test -x $(SAGE_VENV)/bin/python || $(PYTHON) -m venv $(SAGE_VENV); } && \
	  $(SAGE_VENV)/bin/python -m pip install --quiet $(SAGE_PACKAGES) && touch $(SAGE_STAMP); \
	} || echo "passagemath could not be installed: the Sage tests will be skipped"

lint: $(STAMP) $(UI_STAMP)
	npm run --silent check
	$(BIN)/ruff check codenode tests bench plugins
	$(BIN)/ruff format --check codenode tests bench plugins
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format codenode tests bench plugins
	$(BIN)/ruff check --fix codenode tests bench plugins

bench: $(BENCH_STAMP) $(UI_BUNDLE) $(INIT) chromium
	$(COMPILE)
	$(BIN)/python -m bench

ui: $(UI_BUNDLE)

# Static: it runs in any engine's view, whatever libraries that view shows.
$(INIT): codenode/engine/init.c
	@command -v cc >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gcc libc6-dev >/dev/null; }
	cc -Os -static -Wall -Werror -o $@ $<

$(UI_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UI_BUNDLE): $(UI_STAMP) $(UI_SOURCES)
	npm run --silent check
	npm run --silent build

chromium:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests (once)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules codenode/frontend/ui/static $(INIT)
