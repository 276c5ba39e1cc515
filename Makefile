# Two commands do all set-up on a fresh Debian machine with Python 3.11:
#   make run   - virtual environment, install, open the app on the sample workspace
#   make test  - install what tests need (Chromium included) and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run test lint browser engines schema rules-doc sample screenshots clean constraints

install: $(STAMP)

# Debian ships venv support separately (python3-venv); install it only when missing.
$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    echo "python3-venv is missing: installing it with apt-get"; rm -rf $(VENV); \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
	    $(PYTHON) -m venv $(VENV); }; \
	fi
	@bash .ci/install-pdf-libs
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@# As pip does for a wheel: an editable install leaves kpi_model uncompiled, and where
	@# PYTHONDONTWRITEBYTECODE is set every command would compile it again (about 60 ms each).
	$(BIN)/python -m compileall -q kpi_model
	@touch $(STAMP)

# Re-pin constraints.txt to what the virtual environment holds now (after upgrading and testing).
constraints: install
	@{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt

run: install
	$(BIN)/kpi-wizard serve sample_data/workspace.yaml --port $(PORT)

# Browser tests drive Debian's Chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null || { \
	  echo "Chromium is missing: installing Debian's chromium package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# PostgreSQL and Java (for Spark) run the printed warehouse SQL in the tests.
engines:
	@bash .ci/install-engines
	@bash .ci/install-dbt

# Two workers (the CI machine's two cores); a test file stays on one worker, with its module fixtures
# (one Spark session, one PostgreSQL cluster). `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2

test: install browser engines
	$(BIN)/ruff check .
	$(BIN)/mypy
	KPI_WIZARD_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schema: install
	$(BIN)/kpi-wizard schema -o docs/workspace.schema.json

# The rule reference in docs/quality_rules.md is generated from the registry (a test compares them).
rules-doc: install
	$(BIN)/python -c "import re, pathlib; from kpi_model.checks import rules_reference as r; p = pathlib.Path('docs/quality_rules.md'); s = p.read_text(); p.write_text(re.sub(r'(<!-- rules:start -->\n).*(<!-- rules:end -->)', lambda m: m.group(1) + r() + m.group(2), s, flags=re.S))"

screenshots: install browser
	$(BIN)/python docs/screenshots.py

sample: install
	$(BIN)/python sample_data/generate.py

clean:
	rm -rf $(VENV) .venv-dbt .pytest_cache .hypothesis build *.egg-info
