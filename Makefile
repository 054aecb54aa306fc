# The few verbs a newcomer needs. Every target sets up .venv first when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup test unit notebooks notebooks-run report lab browser browser-deps bench clean

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

## notebooks-run: re-execute every notebook in place (do it whenever the code they show changes,
## then commit them with their fresh outputs; `make notebooks` then compares against them)
notebooks-run: $(STAMP)
	cd notebooks && for nb in 0*.ipynb; do \
	  MPLBACKEND=Agg ../$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=300 --ExecutePreprocessor.record_timing=False "$$nb" || exit 1; \
	done

## report: reports/summary.html from the demo records
report: $(STAMP)
	$(VENV)/bin/outcomes report data/demo -o reports/summary.html

## lab: JupyterLab on notebooks/ (prints a link with a token; as root, e.g. in a container, it adds
## --allow-root, which Jupyter otherwise refuses)
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks

## browser: open every notebook in a real JupyterLab and the report in headless Chromium, and fail on
## error outputs, a control that loses its figure, or a broken image (screenshots: reports/browser/)
browser: $(STAMP) browser-deps reports/summary.html
	$(PY) tests/browser/check.py

reports/summary.html:
	$(MAKE) --no-print-directory report

## browser-deps: Debian's chromium and its driver (installed with apt-get when missing and root)
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium and chromium-driver (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; \
	else echo "make browser needs chromium and chromedriver: apt-get install chromium chromium-driver"; \
	  exit 1; fi

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis
