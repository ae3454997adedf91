# tfbert: `make demo` and `make test` each set up .venv (once) and run.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfbert-installed
export PYTHONHASHSEED ?= 0

.PHONY: setup demo test test-all bench clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "tfbert needs Python 3.11; set PYTHON=/path/to/python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Test reference: unicodedata2 12.1.0 (Unicode 12.1, the ICU of TF Serving 2.14-2.19), an
	# sdist older than Python 3.11 that builds with a compatibility header (tools/).
	CFLAGS=-I$(CURDIR)/tools/unicodedata2_py311 $(PY) -m pip install --quiet unicodedata2==12.1.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: setup
	$(PY) pipelines/demo.py

# Two pytest processes, each test file in one of them (its module fixtures built once).
PYTEST := $(PY) -m pytest --doctest-modules -n 2 --dist loadfile

test: setup
	$(PYTEST) -m "not slow" tests tfbert

test-all: setup
	$(PYTEST) tests tfbert

bench: setup
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) demo_output bench_output .pytest_cache
