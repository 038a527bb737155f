# cacao-screen: every target bootstraps the virtual environment it needs.
# `make run` screens the bundled (synthetic) sample; `make test` runs the test suite.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/cacao-screen
STAMP  := $(VENV)/.cacao-screen-installed
LINT_STAMP := $(VENV)/.cacao-screen-lint-installed
BENCH_STAMP := $(VENV)/.cacao-screen-bench-installed
NOTEBOOKS_STAMP := $(VENV)/.cacao-screen-notebooks-installed
SAMPLE := data/sample/.complete
CONFIG ?= configs/sample.yaml
# The suite runs on every core (pytest-xdist); PYTEST_ARGS="-n 0" runs it in one process.
PYTEST_ARGS ?= -n auto
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install sample run test test-fast fuzz lint notebooks docs i18n bench bench-small bench-e2e bench-national bench-scale bench-regions bench-overlays bench-forest bench-report clean distclean

help: ## List the targets
	@echo "cacao-screen make targets:"
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m compileall -q pipeline  # an editable install has no bytecode: every start would compile it
	@touch $(STAMP)

install: $(STAMP) ## Create .venv (if missing) and install the project with its test tools

$(SAMPLE): $(STAMP) $(wildcard pipeline/sample/*.py)
	$(CLI) sample --out data/sample --overwrite

sample: $(SAMPLE) ## Generate the synthetic sample under data/sample/ (if missing)

run: $(STAMP) $(SAMPLE) ## Screen the bundled sample: writes outputs/screening.gpkg, baseline.gpkg, report.html and eudr/
	$(CLI) run --config $(CONFIG) --overwrite

test: $(STAMP) ## Run the test suite (on every core; the same hypothesis examples on every clone)
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## The test suite without the slowest tests (marked slow); make test runs them all
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

fuzz: $(STAMP) ## Fuzz the plot readers and the command line: 1,000 new hypothesis examples per test (long)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_fuzz_plots.py $(PYTEST_ARGS)

$(LINT_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,lint]'
	@touch $(LINT_STAMP)

lint: $(LINT_STAMP) ## ruff (lint and format check), mypy, vulture (unused code), generated docs and message catalogs in step
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m vulture
	$(PY) tools/gen_docs.py --check
	$(PY) tools/i18n.py --check

$(NOTEBOOKS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,notebooks]'
	@touch $(NOTEBOOKS_STAMP)

notebooks: $(NOTEBOOKS_STAMP) $(SAMPLE) ## Open the notebooks in JupyterLab with the project's environment (runs `make run` first if outputs/ is empty)
	@test -f outputs/screening.gpkg || $(MAKE) run
	cd notebooks && $(abspath $(VENV))/bin/jupyter lab

docs: $(STAMP) $(SAMPLE) ## Rewrite the generated tables of docs/ (options, quality-control codes) and the README's sample summary (a real run)
	$(PY) tools/gen_docs.py
	$(PY) tools/readme_summary.py

i18n: $(STAMP) ## Extract every message into the catalogs (pipeline/locale), keep their translations, compile them
	$(PY) tools/i18n.py

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench-small: $(BENCH_STAMP) ## Benchmark vs exactextract on a small tile (8000 px, 10k plots; < 2 min), append to bench/RESULTS.md
	$(PY) -m bench.run --label bench-small --raster-size 8000 --plots 10000 --rasterstats-limit 1000 $(BENCH_ARGS)

bench: $(BENCH_STAMP) ## Benchmark on a whole 40000 px tile: 10k, 100k, 1M plots, tiled and strips (long; first run generates ~2 GB)
	$(PY) -m bench.run --label bench --raster-size 40000 --plots 10000 100000 1000000 --layouts tiled strips $(BENCH_ARGS)

bench-e2e: $(BENCH_STAMP) ## Whole process, plots GeoPackage in, screening out: wall time and peak RSS vs the lean exactextract anchor (../shared/bench) and the exactextract pipeline, 100k and 1M plots
	$(PY) -m bench.e2e --label bench-e2e --plots 100000 1000000 --ee-strategies raster-sequential $(BENCH_ARGS)

bench-national: $(BENCH_STAMP) ## 1M and 5M plots over a 3 x 3 mosaic of Hansen-named tiles (first run generates ~10 GB under bench/data)
	$(PY) -m bench.e2e --label bench-national --national $(BENCH_ARGS)

bench-scale: $(BENCH_STAMP) ## A folder of all 504 Hansen tile names vs the one tile; one 2x2 and one 10x10 degree plot
	$(PY) -m bench.e2e --label bench-scale --tiles --large-plots $(BENCH_ARGS)

bench-report: $(BENCH_STAMP) ## The HTML report of 100k plots in cooperatives: build time, memory and size on disk (< 15 MB)
	$(PY) -m bench.e2e --label bench-report --report $(BENCH_ARGS)

bench-regions: $(BENCH_STAMP) ## Region totals: a 50,000 km2 department measured whole (cold, then from the cache), peak RSS vs the 1 GB target
	$(PY) -m bench.e2e --label bench-regions --region-totals $(BENCH_ARGS)

bench-forest: $(BENCH_STAMP) ## A 10 m forest map of 2020 beside Hansen (forest rule) vs Hansen alone, 100k plots: wall time, peak RSS, ratio (target <= 2x)
	$(PY) -m bench.forest --label bench-forest --plots 100000 $(BENCH_ARGS)

bench-overlays: $(STAMP) ## Overlays: 100k plots against a layer of 10,000 polygons, per chunk, checked against shapely (seconds)
	$(PY) -m bench.overlays $(BENCH_ARGS)

clean: ## Remove outputs and generated sample data (not the cached benchmark inputs in bench/data)
	rm -rf outputs data/sample

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
