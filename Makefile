# Every target bootstraps .venv from the pinned requirements.txt by itself, so a fresh clone needs nothing else.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
STACK ?= prod
PORT ?= 3000

.PHONY: help venv test lint format demo serve tune-local report bench-handler bench-cold load clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: $(PYTHON) is not Python 3.11 or newer; choose one: make PYTHON=python3.12 ..." >&2; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned requirements into $(VENV) (first run or new requirements: about a minute)…"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)  ## Create .venv from requirements.txt (done by every target)

test: $(STAMP)  ## Lint, check notebooks are stripped, run the whole test suite
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m nbstripout --verify notebooks/*.ipynb
	$(PY) -m pytest

lint: $(STAMP)  ## Ruff lint only
	$(PY) -m ruff check .

format: $(STAMP)  ## Format and fix with ruff; strip notebook outputs
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
	$(PY) -m nbstripout notebooks/*.ipynb

demo: $(STAMP)  ## The whole system offline: local stack, scenario, tuning, report
	$(PY) -m programs.demo

serve: $(STAMP)  ## Local stack in the foreground (API on http://127.0.0.1:3000/prod; PORT=, FAULTS="dynamodb-throttle=5 …")
	PORT=$(PORT) $(PY) -m emulator serve $(addprefix --fault ,$(FAULTS))

tune-local: $(STAMP)  ## Power tuning on the local emulator (the running local stack, else a private one; ARGS=)
	$(PY) -m tuning run --target local $(ARGS)

report: $(STAMP)  ## Run the analysis notebook into reports/power-tuning.html (OUTPUTS= or STACK=; else results/ only)
	$(PY) -m analysis report $(if $(OUTPUTS),--outputs $(OUTPUTS),$(if $(wildcard .local/outputs.json),--outputs .local/outputs.json,$(if $(filter command line environment,$(origin STACK)),--stack $(STACK))))

bench-handler: $(STAMP)  ## Handler vs bare DynamoDB call vs tutorial style (warm), and cold init
	$(PY) -m programs.bench.handler

bench-cold: $(STAMP)  ## Cold and warm duration per memory size on the local runtime, ours vs tutorial style
	$(PY) -m programs.bench.cold

load: $(STAMP)  ## Headless locust load (URL=, API_KEY=, USERS=, USER_RATE=, DURATION=, MIX=; PROFILE=step finds the knee)
	$(PY) -m programs.load

clean:  ## Remove generated files (keeps .venv and results/)
	rm -rf .local reports .pytest_cache .ruff_cache build
