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

.PHONY: run test venv lint data results

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

# The committed reference results (results/README.md): every default-profile run, then one
# aggregate report. The sweeps skip finished runs, so this also completes a partial set.
results: $(STAMP)
	$(BIN)/benchmark sweep --stream seven_task --seeds 0 --jobs 2 \
		--strategies naive,ewc,replay,subnet,joint,packnet,mas,lwf,agem,si
	$(BIN)/benchmark sweep --stream seven_task --strategies subnet --seeds 0 --jobs 2 \
		--out results/update_exclusive update=exclusive
	$(BIN)/benchmark sweep --stream three_task --strategies naive,ewc,replay,subnet,joint \
		--seeds 0 --jobs 2
	$(BIN)/benchmark sweep --stream adaptation --strategies naive,subnet --seeds 0 --jobs 2
	$(BIN)/benchmark report results/seven_task/*/seed* results/three_task/*/seed* \
		results/update_exclusive/seven_task/subnet/seed* --out results/report
