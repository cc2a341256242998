# The two commands of the README, plus the paper-scale tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-test reproduce test test-slow lint bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .

# Chromium and its driver (Debian packages) for the report test in a real browser.
setup-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver; \
	fi

## Main job: set up and reproduce every registered experiment at quick sizes.
reproduce: setup
	$(BIN)/rnnlab reproduce all --quick --out runs/quick

lint: setup-test
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

## Tests: set up, lint, run the fast suite.
test: lint
	$(BIN)/python -m pytest -q

## Paper-scale reproductions (slow).
test-slow: setup-test
	$(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/python bench/lyapunov.py
	$(BIN)/python bench/sweep.py
