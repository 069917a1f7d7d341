# Two entry points on a fresh machine (only Python 3.11 and the package registries needed):
#   make demo   create .venv, install returnsim, compare the seed policies, write a report
#   make test   create .venv, install returnsim with its test extras (and Debian's chromium if
#               missing, for the report's layout test), run every check and test
# Also: make lab (JupyterLab on notebooks/), make bench (speed benchmarks), make lint (ruff and
# mypy), make docs (the API reference, strict), make fuzz (hostile scenarios and report files,
# and damaged reports read for a replay; counts by class), make mutate (plant each curated bug
# of tools/mutations.toml and check a test fails; tens of minutes, not part of make test),
# make clean.

PYTHON ?= python3

# Python caches compiled modules (__pycache__) unless PYTHONDONTWRITEBYTECODE is set, as it is
# on some build machines. The tests start many interpreters (process pools, notebook
# kernels, CLI checks); without the caches each compiles the package and its libraries again:
# pytest took 5 min 0 s without them, 4 min 21 s with them (docs/performance.md, *The test suite*).
unexport PYTHONDONTWRITEBYTECODE

VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= results/demo

.PHONY: demo test lab bench lint docs clean browser mutate fuzz

# The packages are installed by uv (from PyPI, pinned), which fetches and installs them in
# parallel: on 2 cores the test extras took 9 s against pip's 43 s, the same versions of the
# same packages (docs/performance.md, *The test suite*).
INSTALL := $(BIN)/uv pip install --quiet --python $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A target of its own, so that a .venv made before uv was used gets it when it next installs.
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.10

# Stamps record what was installed, and are redone when pyproject.toml changes.
$(VENV)/.core: pyproject.toml | $(BIN)/uv
	$(INSTALL) -e .
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/uv
	$(INSTALL) -e '.[dev,dask]'
	@touch $@ $(VENV)/.core $(VENV)/.demo

# The demo's report reads its tornado off a Gaussian-process emulator of the PSA's draws when the
# emulator fits (scikit-learn, the `sensitivity` extra), instead of simulating 100-odd more runs.
$(VENV)/.demo: pyproject.toml | $(BIN)/uv
	$(INSTALL) -e '.[sensitivity]'
	@touch $@ $(VENV)/.core

$(VENV)/.lab: pyproject.toml | $(BIN)/uv
	$(INSTALL) -e '.[lab]'
	@touch $@ $(VENV)/.core

# The second step selects the best policy with a guarantee (reusing the first step's replications
# from the store) and rewrites the report with "How sure is this?".
demo: $(VENV)/.demo
	$(BIN)/returnsim run scenarios/seed_policies.toml --replications 60 --baseline seed --out $(OUT) --store $(OUT)/runs.sqlite
	$(BIN)/returnsim select scenarios/seed_policies.toml --indifference 0.05 --baseline seed --store $(OUT)/runs.sqlite --output $(OUT)/report.html

# -n auto: the tests run on every core (pytest-xdist); each test is safe to run beside another.
# The site's strict build is a test (tests/test_docs_site.py), so `docs` is not built twice here.
# mypy (tens of seconds of one core without its cache) checks beside the tests instead of before
# them; its report is printed after theirs, and either failing fails make test.
test: $(VENV)/.dev browser
	$(BIN)/ruff check returnsim tests benchmarks tools
	@$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest -n auto; tests=$$?; \
	wait $$mypy; typed=$$?; echo "$(BIN)/mypy"; cat $(VENV)/mypy.log; \
	[ $$tests = 0 ] && [ $$typed = 0 ]

# The report's layout test opens it in a real browser (tests/test_report.py). Installs Debian's
# chromium when it is missing: as root with apt-get, otherwise through `sudo -n` (no password
# prompt); if neither can, it says what to run and stops, so the test never silently skips.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian package) for the report's layout test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
	  || { echo "could not install chromium: run 'sudo apt-get install chromium' and retry"; exit 1; }; }

lint: $(VENV)/.dev
	$(BIN)/ruff check returnsim tests benchmarks tools
	$(BIN)/mypy

docs: $(VENV)/.dev
	$(BIN)/mkdocs build --strict --quiet

lab: $(VENV)/.lab
	$(BIN)/jupyter lab notebooks/

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_notebooks.py

# Hostile input (issue 22): 3,000 scenario cases and 300 report files, counts by class; fails on
# an internal error, a NaN or out-of-range output, or a hang. make test runs a fixed sample.
fuzz: $(VENV)/.dev
	$(BIN)/python tests/test_fuzz_hostile.py 3000 300
	$(BIN)/python tests/test_fuzz_replay.py 150 100 200

# Mutation testing: each mutation runs its tests in a temporary copy of the tree; prints the table
# and the score (MUTATE_ARGS, e.g. "--only desk- --jobs 2 --markdown mutation-table.md").
mutate: $(VENV)/.dev
	$(BIN)/python tools/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) results build .pytest_cache .hypothesis .mypy_cache .ruff_cache
