# Every target installs what it needs into .venv (idempotent, fast when up to date).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.nlvision-installed
BENCH_STAMP := $(VENV)/.nlvision-bench-installed

.PHONY: install demo test test-all bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch is pinned first so no dependency pulls the multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,scale]"
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PIP) install -q -e ".[dev,scale,bench]"
	touch $(BENCH_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nlvision demo --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "slow or not slow"

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
