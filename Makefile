# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: setup run test lint bench claims clean

setup: $(STAMP)

# Reinstall only when the pinned set or the project metadata changed.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(STAMP)

run: setup
	$(BIN)/alvh demo

test: setup lint $(CHROMIUM)
	$(BIN)/python -m pytest -q

# The report's browser test drives Debian's Chromium; without it (no root, no apt) it skips.
$(CHROMIUM):
	-(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	  || echo "chromium not installed: the browser test will be skipped"

lint: setup
	$(BIN)/ruff check alvh core demo_market flows sources storage features hedge validations backtest tests bench
	$(BIN)/mypy

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# docs/claims.md from ../shared/data (a real-data test holds the committed file to a fresh run)
claims: setup
	$(BIN)/python bench/make_claims.py

clean:
	rm -rf $(VENV) lake .pytest_cache .mypy_cache .ruff_cache
