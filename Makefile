# `make test` on a fresh machine: creates .venv, installs leadbridge, lints, runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint bench sandbox clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check connector tests bench scripts
	$(BIN)/ruff format --check connector tests bench scripts

test: lint
	$(BIN)/python -m pytest

sandbox: $(STAMP)
	$(BIN)/leadbridge sandbox serve --seed connector/sandbox/seeds/example.json

bench: $(STAMP)
	$(BIN)/python bench/sandbox_speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
