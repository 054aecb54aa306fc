# The few verbs a newcomer needs. Every target sets up .venv first when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup test unit notebooks report lab bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## test: every unit test, then every notebook under nbval (outputs compared cell by cell)
test: $(STAMP)
	$(PY) -m pytest -q tests
	$(MAKE) --no-print-directory notebooks

unit: $(STAMP)
	$(PY) -m pytest -q tests

notebooks: $(STAMP)
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  MPLBACKEND=Agg $(PY) -m pytest -q --nbval --nbval-current-env \
	    --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider notebooks; \
	else echo "no notebooks yet"; fi

## report: reports/summary.html from the demo records
report: $(STAMP)
	$(VENV)/bin/outcomes report data/demo -o reports/summary.html

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis
