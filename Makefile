# Every target installs what it needs into .venv (idempotent, fast when up to date).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.nlvision-installed
BENCH_STAMP := $(VENV)/.nlvision-bench-installed

.PHONY: install demo test test-all check deps docs dist smoke bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch is pinned first so no dependency pulls the multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PIP) install -q -e ".[dev,bench]"
	touch $(BENCH_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nlvision demo --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "slow or not slow"

# Declared dependencies match the imports of src/ (deptry), and the API reference builds cleanly.
check: deps docs

deps: $(STAMP)
	$(VENV)/bin/deptry src

# API reference from the docstrings (numpydoc validation on), warnings are errors.
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -q -W --keep-going -b html docs docs/_build/html

dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --sdist --wheel --outdir dist .

# The wheel installed with no extras into a clean venv outside the tree, as a user installs it.
smoke: dist
	bash .ci/install_smoke.sh dist

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs build dist docs/_build *.egg-info src/*.egg-info
