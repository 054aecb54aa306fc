# The few verbs a newcomer needs. Every target sets up .venv first when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
# how requirements.lock is made from pyproject.toml: every dependency, the dev extra and the setup
# group (pip, setuptools, wheel, uv), exact versions with the hashes of every file PyPI has for
# them, one file for every platform and every Python >= 3.11
LOCK_ARGS := pyproject.toml --extra dev --group setup --generate-hashes --universal \
	--python-version 3.11 --custom-compile-command "make lock" --quiet -o $(LOCK)

.PHONY: setup test unit notebooks notebooks-run report lab browser browser-deps bench clean \
	lock lock-upgrade test-latest test-oldest

## setup: .venv with exactly the versions of requirements.lock (hashes checked), then this package
## itself without dependencies and without a build environment of its own (its build backend is
## in the lock too), so that nothing released after the lock reaches the environment
setup: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	@# setuptools warns, boxed, that a folder named like the package may shadow it: here that
	@# folder is the package itself, so the one warning is silenced (not all of them)
	PYTHONWARNINGS="ignore:Editable installation" \
	  $(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

## lock: requirements.lock again from pyproject.toml, keeping every version already locked that
## still fits (run it after changing pyproject.toml's dependencies; commit both files)
lock: $(STAMP)
	$(VENV)/bin/uv pip compile $(LOCK_ARGS)
	$(PY) .ci/lockfile.py environment

## lock-upgrade: requirements.lock with the newest releases pyproject.toml allows (after
## `make test-latest` passed; then `make test`, and commit with the notebooks it re-ran)
lock-upgrade: $(STAMP)
	$(VENV)/bin/uv pip compile --upgrade $(LOCK_ARGS)
	$(PY) .ci/lockfile.py environment

## test-latest: the unit tests in a scratch environment (.venv-latest) built from the newest
## releases pyproject.toml allows, not from the lock; prints which releases are newer than the lock
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	.venv-latest/bin/python .ci/lockfile.py compare
	.venv-latest/bin/python -m pytest -q -p no:cacheprovider tests

## test-oldest: the unit tests on the lowest versions pyproject.toml claims to support (the
## lower bounds of its ranges), in a scratch .venv-oldest
test-oldest: $(STAMP)
	rm -rf .venv-oldest
	$(PYTHON) -m venv .venv-oldest
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --resolution lowest-direct \
	  --python-version 3.11 --quiet -o .venv-oldest/requirements.txt
	.venv-oldest/bin/python -m pip install --quiet -r .venv-oldest/requirements.txt
	.venv-oldest/bin/python -m pip install --quiet --no-deps -e .
	.venv-oldest/bin/python .ci/lockfile.py compare
	.venv-oldest/bin/python -m pytest -q -p no:cacheprovider tests

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

## browser-deps: Debian's chromium, its driver and poppler (pdftotext and pdfimages read the
## printed report page by page), installed with apt-get when missing and root
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
	  && command -v pdftotext >/dev/null 2>&1 && command -v pdfimages >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium, chromium-driver and poppler-utils (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver poppler-utils >/dev/null; \
	else echo "make browser needs chromium, chromedriver and poppler: apt-get install chromium chromium-driver poppler-utils"; \
	  exit 1; fi

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-latest .venv-oldest reports .pytest_cache .hypothesis
