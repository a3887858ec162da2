# initgate: `make run` serves the webhook on https://127.0.0.1:8443 (metrics on :9090);
# `make test` runs everything CI runs. Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools/bin
export PATH := $(CURDIR)/$(TOOLS):$(CURDIR)/$(BIN):$(PATH)

.PHONY: setup tools run test test-summary latest lint types unit integration chart runtime-env audit-deps bench bench-instructions soak e2e lock manifests clean

# The runtime dependencies at the versions the image ships (requirements.lock, by hash), then
# the project and its dev tools. `make latest` tests the newest releases instead.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# promtool and prometheus are Debian's: installed as root with apt-get, else their tests skip (and
# the script, finding them missing, says so again at each run).
$(TOOLS)/helm $(TOOLS)/kubectl $(TOOLS)/promtool $(TOOLS)/prometheus:
	PYTHON=$(PYTHON) scripts/install-tools.sh

setup: $(BIN)/.installed
tools: $(TOOLS)/helm $(TOOLS)/kubectl $(TOOLS)/promtool $(TOOLS)/prometheus

# `make run PORT=8444 METRICS_PORT=9091` serves on other ports (METRICS_PORT=0: no metrics). A
# server that cannot start exits 2 and says why; on a busy port, the line after it says how.
PORT ?= 8443
METRICS_PORT ?= 9090
run: setup
	@$(BIN)/initgate serve --host 127.0.0.1 --port $(PORT) --metrics-port $(METRICS_PORT) \
		--state-dir .state || { status=$$?; [ $$status -ne 2 ] || echo "make run: other ports:" \
		"make run PORT=$$(($(PORT) + 1)) METRICS_PORT=$$(($(METRICS_PORT) + 1))" \
		"(METRICS_PORT=0: no metrics)" >&2; exit $$status; }

# The summary ends with what was skipped and why (a tool missing here, such as promtool), and the
# dependency audit's verdict (its last line: SKIPPED when no vulnerability data could be reached):
# a green run that checked less than CI does says so where it is read.
test: lint types unit integration chart runtime-env audit-deps
	@$(MAKE) --no-print-directory test-summary

# Each pytest run keeps its output in $(RESULTS), for the skip reasons the summary repeats.
RESULTS := .state/tests
PYTEST = mkdir -p $(RESULTS) && set -o pipefail && $(BIN)/pytest -q
AUDIT_VERDICT := .state/audit-deps.txt

test-summary:
	@echo "make test: tests skipped, and why:"
	@cat $(RESULTS)/{unit,integration,chart,image}.log 2>/dev/null | grep '^SKIPPED' || echo "  none"
	@echo "make test: lint, types, unit, integration, chart and image passed; dependency audit:" \
		"$$(tail -n 1 $(AUDIT_VERDICT) 2>/dev/null || echo 'not run')"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

types: setup
	$(BIN)/mypy

unit: setup
	$(PYTEST) -m "not integration and not chart and not image and not e2e" | tee $(RESULTS)/unit.log

# No tool: every test that needs helm or Prometheus is in tests/chart (tests/conftest.py holds
# markers to folders).
integration: setup
	$(PYTEST) -m "integration" | tee $(RESULTS)/integration.log

chart: setup tools
	$(PYTEST) -m "chart" | tee $(RESULTS)/chart.log

# The image's Python environment, built by scripts/runtime-env.sh as the Dockerfile builds it (the
# lock less what never runs, the wheel, the SBOM), and what serve and audit do from it.
runtime-env: setup
	$(PYTEST) -m "image" | tee $(RESULTS)/image.log

# The unit and integration suites with the newest fastapi, starlette and uvicorn on top of the
# lock, in a venv of their own (.tools/latest): the bounds in pyproject.toml are lower bounds only.
LATEST := .tools/latest
latest: setup tools
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(LATEST)/bin/python -m pip install --quiet -e '.[dev]'
	$(LATEST)/bin/python -m pip install --quiet --upgrade fastapi starlette uvicorn
	$(LATEST)/bin/python -m pip list 2>/dev/null | grep -iE '^(fastapi|starlette|uvicorn) '
	$(LATEST)/bin/pytest -q -m "not chart and not image and not e2e"

audit-deps: setup
	@mkdir -p $(dir $(AUDIT_VERDICT))
	set -o pipefail; $(BIN)/python scripts/audit_deps.py | tee $(AUDIT_VERDICT)

bench: setup
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_audit.py
	$(BIN)/python scripts/bench_rules.py
	$(BIN)/python scripts/bench_native.py

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
# README values table (from values.yaml), its native admission policies (templates/native-*.yaml and
# files/native.json, from webhook/native) and deploy/initgate.yaml (the chart, rendered).
manifests: setup tools
	$(BIN)/python deploy/generate.py

# The image's pins, refreshed to the newest releases that pyproject.toml admits: the runtime
# dependencies (requirements.lock), the build backend (requirements-build.lock) and the SBOM
# generator (requirements-sbom.lock), every file by hash, without this machine's index settings. `make lock LOCK_FLAGS=` keeps the existing pins.
LOCK_FLAGS ?= --upgrade
LOCK = $(BIN)/pip-compile --quiet --strip-extras --generate-hashes --no-emit-index-url \
	--no-emit-find-links $(LOCK_FLAGS)
lock: setup
	$(LOCK) --output-file requirements.lock pyproject.toml
	$(LOCK) --only-build-deps --all-build-deps --allow-unsafe \
		--output-file requirements-build.lock pyproject.toml
	$(LOCK) --allow-unsafe --output-file requirements-sbom.lock requirements-sbom.in

clean:
	rm -rf $(VENV) .tools .state .mypy_cache .ruff_cache .pytest_cache .hypothesis
