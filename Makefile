# Tastegraph: `make demo` runs the demo on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SEED ?= 42
# Where the demo listens: `make demo PORT=8100 SITES_PORT=8101` (the third-party sites run on localhost).
HOST ?= 127.0.0.1
PORT ?= 8000
SITES_PORT ?= 8001

.PHONY: install demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/tastegraph db upgrade
	$(BIN)/tastegraph demo --seed $(SEED) --host $(HOST) --port $(PORT) --sites-port $(SITES_PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) tastegraph.db tastegraph.db-wal tastegraph.db-shm .pytest_cache .mypy_cache .ruff_cache
