# The two commands a user needs: `make demo` and `make test`.
# Everything else here is what those two need.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_ARGS ?=

.PHONY: demo test check lint typecheck install clean

$(BIN)/python:
	scripts/ensure-python-venv $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## make demo: a whole demo building (meters, broker, gateway, bridge, web UI) on this machine.
demo: install
	$(BIN)/building-demo $(DEMO_ARGS)

## make test: system packages the tests need, the static checks, then the whole suite.
test: install
	scripts/ensure-test-system-packages
	$(MAKE) --no-print-directory check
	$(BIN)/python -m pytest

check: lint typecheck

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
