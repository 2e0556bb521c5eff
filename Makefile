# Two commands on a fresh machine: `make demo` (the first sync against a throwaway sandbox) and
# `make test` (ruff and every test). Both create .venv and install leadbridge when needed, with
# its sandbox and postgres extras (a production install, `pip install leadbridge`, has neither).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint browser demo bench sandbox clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[sandbox,postgres,dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check connector tests bench scripts
	$(BIN)/ruff format --check connector tests bench scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/hadolint deploy/Containerfile
	$(BIN)/mypy

# The status page's test (tests/e2e/test_status_page.py) drives Debian's chromium headless: when
# /usr/bin/chromium is missing it is installed here (apt-get, as root); if that cannot be done,
# that one test is skipped, saying why.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing chromium for the status page's browser test"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			|| echo "chromium could not be installed: the status page's browser test is skipped"; \
		else \
			echo "no chromium (and not root with apt-get): the status page's browser test is skipped"; \
		fi; \
	fi

test: lint browser
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/leadbridge demo

sandbox: $(STAMP)
	$(BIN)/leadbridge sandbox serve --seed connector/sandbox/seeds/example.json

bench: $(STAMP)
	$(BIN)/python bench/sandbox_speed.py
	$(BIN)/python bench/sync_throughput.py
	$(BIN)/python bench/mapping_speed.py
	$(BIN)/python bench/routing_accuracy.py
	$(BIN)/python bench/lifecycle_scenario.py
	$(BIN)/python bench/crash_restart.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/backfill_kills.py
	@if [ -n "$$LEADBRIDGE_TEST_DATABASE_URL" ]; then $(BIN)/python bench/reliability.py; \
	else echo "bench/reliability.py skipped: LEADBRIDGE_TEST_DATABASE_URL not set (it needs PostgreSQL)"; fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
