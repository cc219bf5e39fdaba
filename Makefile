# The two commands: `make demo` runs the main job on the embedded demo, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-pure ui bench check clean-demo

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24,<27"
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m sinc_pipeline demo

test: $(STAMP)
	$(PY) -m pytest -q

# Only tests/pure (no database, no Dagster): seconds.
test-pure: $(STAMP)
	$(PY) -m pytest -q tests/pure

check: $(STAMP)
	$(PY) -m sinc_pipeline check

ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/data/dagster $(VENV)/bin/dagster dev -w workspace.yaml

bench: $(STAMP)
	$(PY) bench/sync_bench.py
	$(PY) bench/snapshot_bench.py
	$(PY) bench/stock_bench.py

clean-demo:
	rm -rf data/demo data/sinc.yaml data/dagster data/snapshots
