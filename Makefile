# The two entry points the README starts with: `make demo` and `make test`.
# Both build .venv from the project's own files on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# -qq: only errors; setuptools' notice about editable installs is not the product's to print.
$(VENV)/.installed: pyproject.toml
	@echo "Installing tidal-sync and its dependencies into $(VENV) (once; a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -e '.[test]'
	touch $@

# Debian's Chromium and chromedriver for tests/test_browser.py: installed only when
# missing, and only where we may (root with apt-get); elsewhere that test skips.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

.PHONY: install browser demo ui test lint
install: $(VENV)/.installed browser

browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	else \
		echo "Chromium is missing and this is not root on Debian: tests/test_browser.py will skip"; \
	fi

demo: $(VENV)/.installed
	$(BIN)/tidal-sync demo

ui: $(VENV)/.installed
	$(BIN)/tidal-sync demo --ui

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest -n 2
