# initgate: `make run` serves the webhook on https://127.0.0.1:8443 (metrics on :9090);
# `make test` runs everything CI runs. Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools/bin
export PATH := $(CURDIR)/$(TOOLS):$(CURDIR)/$(BIN):$(PATH)

.PHONY: setup tools run test lint types unit integration chart compiled audit-deps bench bench-instructions soak e2e lock manifests clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(TOOLS)/helm $(TOOLS)/kubectl:
	PYTHON=$(PYTHON) scripts/install-tools.sh

# The image's build environment, as the Dockerfile makes it: a venv (no pip) with the runtime
# dependencies (requirements.lock) and the build tools (requirements-build.lock: setuptools, mypy
# for mypyc, the stubs mypyc needs), all hash-pinned, without the dev extra: mypyc type-checks
# against what is installed there, so what the image build would lack fails here too.
BUILD_VENV := .tools/build-venv
$(BUILD_VENV)/.installed: requirements.lock requirements-build.lock | $(BIN)/.installed
	rm -rf $(BUILD_VENV)
	$(PYTHON) -m venv --without-pip $(BUILD_VENV)
	for lock in requirements.lock requirements-build.lock; do \
		$(BIN)/python -m pip --python $(BUILD_VENV)/bin/python install --quiet --require-hashes \
			--only-binary=:all: --no-deps -r $$lock || exit 1; \
	done
	touch $@

setup: $(BIN)/.installed
tools: $(TOOLS)/helm $(TOOLS)/kubectl

run: setup
	$(BIN)/initgate serve --host 127.0.0.1 --port 8443 --metrics-port 9090 --state-dir .state

test: lint types unit integration chart compiled audit-deps

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

types: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q -m "not integration and not chart and not e2e"

integration: setup
	$(BIN)/pytest -q -m "integration"

chart: setup tools
	$(BIN)/pytest -q -m "chart"

# The request path compiled with mypyc as the image has it (scripts/build-compiled.sh, in
# build/compiled), and the unit and integration suites run on that build.
compiled: setup $(BUILD_VENV)/.installed
	scripts/build-compiled.sh
	cd build/compiled && INITGATE_COMPILED=1 ../../$(BIN)/pytest -q -p no:cacheprovider \
		-m "not chart and not e2e"

audit-deps: setup
	$(BIN)/python scripts/audit_deps.py

# What the image runs, the compiled build, unless `make bench BENCH_BUILD=pure` (the sources).
BENCH_BUILD ?= compiled
bench: setup $(BUILD_VENV)/.installed
ifeq ($(BENCH_BUILD),pure)
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_audit.py
else
	scripts/build-compiled.sh
	cd build/compiled && ../../$(BIN)/python scripts/bench.py
	cd build/compiled && ../../$(BIN)/python scripts/bench_audit.py
endif

# Instructions per decision under callgrind: steady from run to run, unlike timings on a busy VM.
bench-instructions: setup
	$(BIN)/python scripts/bench_instructions.py

soak: setup
	$(BIN)/python scripts/soak.py

# Against the cluster KUBECONFIG names, where initgate is installed (skipped, with the reason,
# without one). deploy/kind/e2e.sh does it all in a throwaway kind cluster: build, install, test.
e2e: setup tools
	$(BIN)/pytest -q -m "e2e" tests/e2e

# What is generated from other sources: the chart's config schema (from the pydantic model), its
# README values table (from values.yaml) and deploy/initgate.yaml (the chart, rendered).
manifests: setup tools
	$(BIN)/python deploy/generate.py

# The image's pins: runtime dependencies (requirements.lock) and the build tools
# (requirements-build.lock, from requirements-build.in), every file by hash, without this
# machine's index settings.
# Existing pins are kept; `make lock LOCK_FLAGS=--upgrade` moves them.
LOCK = $(BIN)/pip-compile --quiet --strip-extras --generate-hashes --no-emit-index-url \
	--no-emit-find-links $(LOCK_FLAGS)
lock: setup
	$(LOCK) --output-file requirements.lock pyproject.toml
	$(LOCK) --allow-unsafe --output-file requirements-build.lock requirements-build.in

clean:
	rm -rf $(VENV) .tools .state .mypy_cache .ruff_cache .pytest_cache .hypothesis
