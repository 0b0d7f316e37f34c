# `make demo` and `make test` work on a fresh machine: they create .venv when
# missing and install the core and every plugin in ONE pip call with the
# committed constraints, so the resolver sees every plugin's needs at once.
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
STAMP := $(VENV)/.installed
PYTEST_FLAGS ?= -n 2 -q
export INRIA_PROGRESS ?= 0

.PHONY: install demo test test-slow bench gpu-faiss clean

$(STAMP): pyproject.toml constraints.txt $(wildcard plugins/*/pyproject.toml)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24" "setuptools>=68" wheel "pybind11==3.1.0"  # pybind11: builds the compressai sdist (ms-illm) without build isolation
	$(PY) -m pip install -q --no-build-isolation -c constraints.txt -e ".[test]" $(addprefix -e ,$(PLUGIN_DIRS))
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/inria run quickstart

# CI runs this (through .ci/run) with INRIA_STRICT_PLUGINS=1: a plugin that fails
# to import is an error, not a warning.
# Two pytest workers on two cores: one OpenMP thread each, or torch and faiss
# oversubscribe the cores and spin (seen here: 100x slower ops).
TEST_ENV := INRIA_STRICT_PLUGINS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test: install
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_FLAGS)

test-slow: install
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_FLAGS) -m slow

# Swap faiss-cpu for the CUDA build; the two ship the same module, so never
# leave both installed.
gpu-faiss: install
	$(PY) -m pip uninstall -y faiss-cpu
	$(PY) -m pip install "faiss-gpu-cu12"

clean:
	rm -rf runs .pytest_cache
