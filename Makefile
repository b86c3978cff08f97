# Two commands do everything on a fresh machine (Python 3.11+ and make):
#   make demo   set up, build a demo database and open it
#   make test   set up, then lint, type-check, check import contracts and run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB ?= demo.db
export TZ := Europe/London

.PHONY: setup demo test lint unit bench e2e clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $@

demo: setup
	$(BIN)/compliance --db $(DEMO_DB) demo --force
	$(BIN)/compliance --db $(DEMO_DB) tui

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest

test: lint unit

e2e: setup
	$(BIN)/python tests/test_tui_tmux.py

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
