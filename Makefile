# The two entry points the README starts with: `make demo` and `make test`.
# Both build .venv from the project's own files on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

.PHONY: install demo ui test lint
install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/tidal-sync demo

ui: $(VENV)/.installed
	$(BIN)/tidal-sync demo --ui

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2
