# Two entry points that do all of their own set-up on a fresh machine:
#   make run   -> venv + install + corpus build (if missing) + the main job
#   make test  -> venv + install + the test suite
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STREAM ?= seven_task
STRATEGY ?= subnet
PROFILE ?= default

.PHONY: run test venv lint data

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

data: $(STAMP)
	$(BIN)/benchmark data build --size $(PROFILE)

run: $(STAMP)
	$(BIN)/benchmark run --stream $(STREAM) --strategy $(STRATEGY) --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check benchmark strategies tests scripts
