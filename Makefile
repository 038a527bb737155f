# cacao-screen: every target bootstraps the virtual environment it needs.
# `make run` screens the bundled (synthetic) sample; `make test` runs the test suite.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/cacao-screen
STAMP  := $(VENV)/.cacao-screen-installed
SAMPLE := data/sample/.complete
CONFIG ?= configs/sample.yaml
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install sample run test clean distclean

help: ## List the targets
	@echo "cacao-screen make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv (if missing) and install the project with its test tools

$(SAMPLE): $(STAMP) pipeline/sample.py
	$(CLI) sample --out data/sample --overwrite

sample: $(SAMPLE) ## Generate the synthetic sample under data/sample/ (if missing)

run: $(STAMP) $(SAMPLE) ## Screen the bundled sample: writes outputs/screening.gpkg and outputs/baseline.gpkg
	$(CLI) run --config $(CONFIG) --overwrite

test: $(STAMP) ## Run the test suite
	$(PY) -m pytest $(PYTEST_ARGS)

clean: ## Remove outputs and generated sample data
	rm -rf outputs data/sample

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
