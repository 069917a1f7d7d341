# Two entry points on a fresh machine (only Python 3.11 and the package registries needed):
#   make demo   create .venv, install returnsim, compare the seed policies, write a report
#   make test   create .venv, install returnsim with its test extras, run every check and test
# Also: make lab (JupyterLab on notebooks/), make bench (speed benchmarks), make lint (ruff and
# mypy), make docs (the API reference, strict), make clean.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= results/demo

.PHONY: demo test lab bench lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps record what was installed, and are redone when pyproject.toml changes.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
	@touch $@ $(VENV)/.core

$(VENV)/.lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	@touch $@ $(VENV)/.core

# The second step selects the best policy with a guarantee (reusing the first step's replications
# from the store) and rewrites the report with "How sure is this?".
demo: $(VENV)/.core
	$(BIN)/returnsim run scenarios/seed_policies.toml --replications 60 --baseline seed --out $(OUT) --store $(OUT)/runs.sqlite
	$(BIN)/returnsim select scenarios/seed_policies.toml --indifference 0.05 --baseline seed --store $(OUT)/runs.sqlite --report $(OUT)/report.html

test: lint docs
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check returnsim tests benchmarks
	$(BIN)/mypy

docs: $(VENV)/.dev
	$(BIN)/mkdocs build --strict --quiet

lab: $(VENV)/.lab
	$(BIN)/jupyter lab notebooks/

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) results build .pytest_cache .hypothesis .mypy_cache .ruff_cache
