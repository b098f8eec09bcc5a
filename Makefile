# Every target bootstraps .venv from the pinned requirements.txt by itself, so a fresh clone needs nothing else.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REQUIREMENTS ?= requirements.txt
PINNED ?= requirements.txt
STAMP := $(VENV)/.installed-requirements
STACK ?= prod
PORT ?= 3000
# The oldest Python every pin supports (pyproject.toml's requires-python): the bootstrap checks it, and
# `make requirements` resolves for it, so the pins do not depend on which Python regenerates them.
MIN_PYTHON := $(shell sed -n 's/^requires-python = ">=\(.*\)"$$/\1/p' pyproject.toml)
# The uv release requirements.txt pins, with its hashes, installed into a venv with pip when no uv is on PATH.
UV_PIN = $(shell sed -n 's/^\(uv==[^ ]*\).*/\1/p' $(PINNED))
UV_PIN_LINES = awk '/^uv==/ {keep = 1; print; next} keep && /^ +--hash=/ {print; next} {keep = 0}' $(PINNED)
# The function's runtime closure (emulator/lambda_python.py installs it into .lambda-venv), from its .in file.
RUNTIME_IN := emulator/lambda-runtime/requirements.in
RUNTIME_PINNED ?= emulator/lambda-runtime/requirements.txt
LAMBDA_PYTHON_VERSION := 3.13
# Precompiled at install: the packages a `make serve` imports (those its first start writes .pyc files for),
# so the first start is as fast as the next ones. Measured to "ready" on the 2-core VM under load: without
# precompiling 8.4-11.2 s the first time, 3.9-4.4 s later (and the slow one every time where
# PYTHONDONTWRITEBYTECODE is set); these packages precompiled (5 s of CPU) 5.1 s the first time, 4.5 s later.
# Not the whole venv: its 105 MB of Python (pulumi_aws and test suites aside) took 25-36 s, the install 5 s.
PRECOMPILED := moto boto3 botocore s3transfer jmespath dateutil urllib3 requests charset_normalizer idna certifi \
	werkzeug flask flask_cors jinja2 markupsafe itsdangerous click blinker yaml cryptography responses
# --stack only when STACK= is given (command line or environment), not for the prod default above: make serve
# then serves Pulumi.yaml's defaults, and report/lab read the running local stack.
STACK_OPTION = $(if $(filter command line environment,$(origin STACK)),--stack $(STACK))
# Where report and lab read stack outputs: OUTPUTS= (a file), STACK= (given explicitly), else the running local
# stack (its .local/outputs.json, when the stack still answers), else the results files alone.
NOTEBOOK_SOURCE = $(if $(OUTPUTS),--outputs $(OUTPUTS)) $(STACK_OPTION)

# $(call install_venv,DIR,PYTHON,REQUIREMENTS): create the venv DIR with PYTHON unless it has one, install the
# pinned REQUIREMENTS into it and precompile them. With uv, 190 pins install in about 2 s (pip: 70-130 s):
# the uv on PATH, else the pinned uv installed into the venv with pip; pip alone only when uv cannot run.
define install_venv
	@uv=$$(command -v uv) && "$$uv" --version > /dev/null 2>&1 || uv=; \
	test -x $(1)/bin/python || $(2) -m venv --clear $(1) || exit 1; \
	if [ -z "$$uv" ] && $(1)/bin/uv --version > /dev/null 2>&1; then uv=$(1)/bin/uv; fi; \
	if [ -z "$$uv" ]; then \
		echo "No uv on PATH: installing $(UV_PIN) into $(1) with pip first…"; \
		if $(1)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
			-r <($(UV_PIN_LINES)) \
			&& $(1)/bin/uv --version > /dev/null 2>&1; then uv=$(1)/bin/uv; \
		else echo "warning: uv cannot run here; installing with pip instead (about a minute)" >&2; fi; \
	fi; \
	tool=$${uv:+uv}; echo "Installing $(3) into $(1) with $${tool:-pip}…"; \
	if [ -n "$$uv" ]; then "$$uv" pip install --quiet --require-hashes --python $(1)/bin/python -r $(3); \
	else $(1)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile --require-hashes \
		-r $(3); fi || exit 1; \
	echo "Precompiling what a start imports (the first is then as fast as the next)…"; \
	$(1)/bin/python -m compileall -q -j0 -x /tests/ $(addprefix $(1)/lib/python3*/site-packages/,$(PRECOMPILED)) > /dev/null
endef

.PHONY: help venv lambda-runtime requirements test check lint format demo serve tune-local report lab bench-handler bench-cold bench-runtime load chaos clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < tuple(map(int, "$(MIN_PYTHON)".split("."))))' \
		|| { echo "error: $(PYTHON) is not Python $(MIN_PYTHON) or newer; choose one: make PYTHON=python3.12 ..." >&2; exit 2; }
	$(call install_venv,$(VENV),$(PYTHON),$(REQUIREMENTS))
	@touch $(STAMP)

venv: $(STAMP)  ## Create .venv from requirements.txt (done by every target; uv on PATH is used, else installed)

# The function's own runtime (Python 3.13 + awslambdaric, emulator/lambda-runtime/requirements.txt), built into
# .lambda-venv/ on first use; later runs only find the Python again and name the runtime (≈ 0.1 s).
lambda-runtime: $(STAMP)  ## Build the function's runtime (Python 3.13 + awslambdaric) into .lambda-venv
	@$(PY) -m emulator.lambda_python

# PINNED= writes elsewhere (the freshness test compares the two); the file it names keeps its pins as preferences.
requirements: $(STAMP)  ## Re-pin requirements.txt and the runtime's, with hashes (keeps today's pins; UPGRADE=pkg moves one)
	$(VENV)/bin/uv pip compile pyproject.toml --group dev --group notebooks --python-version $(MIN_PYTHON) \
		--generate-hashes --custom-compile-command 'make requirements' --quiet -o $(PINNED) \
		$(if $(UPGRADE),--upgrade-package $(UPGRADE))
	$(VENV)/bin/uv pip compile $(RUNTIME_IN) --python-version $(LAMBDA_PYTHON_VERSION) --generate-hashes \
		--custom-compile-command 'make requirements' --quiet -o $(RUNTIME_PINNED) \
		$(if $(UPGRADE),--upgrade-package $(UPGRADE))

test: $(STAMP) lambda-runtime  ## Lint, check notebooks are stripped, run the whole test suite
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m nbstripout --verify notebooks/*.ipynb
	$(PY) -m pytest

# The edit loop: what make test checks first, and the tests that start no stack (not tests/e2e, not slow).
check: $(STAMP) lambda-runtime  ## Lint, format check, import contracts and the unit tests (about a minute)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m "not slow" --ignore=tests/e2e

lint: $(STAMP)  ## Ruff lint only
	$(PY) -m ruff check .

format: $(STAMP)  ## Format and fix with ruff; strip notebook outputs
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
	$(PY) -m nbstripout notebooks/*.ipynb

demo: $(STAMP) lambda-runtime  ## The whole system offline: local stack, scenario, tuning, report
	$(PY) -m programs.demo $(STACK_OPTION)

serve: $(STAMP) lambda-runtime  ## Local stack in the foreground (API on http://127.0.0.1:3000/prod; STACK=prod, PORT=, STATE=DIR, FAULTS="dynamodb-throttle=5 …")
	PORT=$(PORT) $(PY) -m emulator serve $(addprefix --fault ,$(FAULTS)) $(if $(STATE),--state $(STATE)) $(STACK_OPTION)

tune-local: $(STAMP) lambda-runtime  ## Power tuning on the local emulator (the running local stack, else a private one; ARGS=)
	$(PY) -m tuning run --target local $(ARGS)

report: $(STAMP)  ## Run the analysis notebook into reports/power-tuning.html (OUTPUTS= or STACK=; else results/ only)
	$(PY) -m analysis report $(NOTEBOOK_SOURCE)

lab: $(STAMP)  ## JupyterLab on the analysis notebook, on 127.0.0.1 (same sources as report: OUTPUTS=, STACK=)
	$(PY) -m analysis lab $(NOTEBOOK_SOURCE)

bench-handler: $(STAMP)  ## Handler vs bare DynamoDB call vs tutorial style (warm), and cold init
	$(PY) -m programs.bench.handler

bench-cold: $(STAMP) lambda-runtime  ## Cold and warm duration per memory size on the local runtime, ours vs tutorial style
	$(PY) -m programs.bench.cold

bench-runtime: $(STAMP) lambda-runtime  ## The Runtime API round trip per invocation at 128 and 1769 MB (no-op handler)
	$(PY) -m programs.bench.runtime_api_roundtrip

load: $(STAMP)  ## Headless locust load (URL=, API_KEY=, USERS=, USER_RATE=, DURATION=, MIX=; PROFILE=step finds the knee)
	$(PY) -m programs.load

chaos: $(STAMP) lambda-runtime  ## Faults + concurrent clients on a private local stack, then audit its table (RATE=5, ARGS=)
	$(PY) -m programs.chaos $(if $(RATE),--rate $(RATE)) $(STACK_OPTION) $(ARGS)

clean:  ## Remove generated files (keeps .venv, .lambda-venv and results/)
	rm -rf .local reports .pytest_cache .ruff_cache build
