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
DEVICE ?= cpu

.PHONY: run test venv lint data results report

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# the corpus size each profile trains on (benchmark/config.py): paper uses the large corpus
SIZE = $(if $(filter paper,$(PROFILE)),large,$(PROFILE))

data: $(STAMP)
	$(BIN)/benchmark data build --size $(SIZE)

run: $(STAMP)
	$(BIN)/benchmark run --stream $(STREAM) --strategy $(STRATEGY) --profile $(PROFILE) \
		--device $(DEVICE)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check benchmark strategies tests scripts

# The committed reference results (results/README.md), in order of importance: the seven_task
# headline (3 seeds of the core strategies, then the other baselines at seed 0), three_task,
# the paper's adaptation study and its compression study, then one aggregate report and the
# README's generated blocks. The sweeps skip finished runs (and refuse a folder holding a run
# made with other settings), so this also completes a partial set, across sessions. Run it from
# a clean checkout of the commit named in results/README.md (scripts/reference_worktree.sh
# makes one and brings the runs back): the report refuses to mix code.
# Every run asks for fp32 (REF), so no run's recipe depends on the CPU (the default profile
# trains in bf16 where the CPU has native bf16); its runs must still share one processor kind,
# whose kernels set the exact numbers (scripts/reference_worktree.sh checks it).
REF := precision=fp32
# where the set goes: results/, or results/next_reference for a set being made to replace it
# (and in a worktree of the committed set's commit, where results/ held the set it replaced)
RESULTS ?= results
results: $(STAMP)
	$(BIN)/benchmark sweep --stream seven_task --seeds 0,1,2 --jobs 2 \
		--strategies naive,subnet,joint --out $(RESULTS) $(REF)
	$(BIN)/benchmark sweep --stream seven_task --seeds 0,1,2 --jobs 2 \
		--strategies ewc,replay,packnet --out $(RESULTS) $(REF)
	$(BIN)/benchmark sweep --stream seven_task --strategies subnet --seeds 0,1,2 --jobs 2 \
		--out $(RESULTS)/update_exclusive update=exclusive $(REF)
	$(BIN)/benchmark sweep --stream adaptation --strategies naive,ewc,replay,subnet,joint \
		--seeds 0 --jobs 2 --out $(RESULTS) $(REF)
	$(BIN)/benchmark sweep --stream adaptation --strategies subnet --seeds 0 --jobs 2 \
		--out $(RESULTS)/update_exclusive update=exclusive $(REF)
	test -f $(RESULTS)/compression/adaptation/seed0/compression.json || \
		$(BIN)/benchmark compress --stream adaptation --no-progress --resume \
		--out $(RESULTS)/compression/adaptation/seed0 threads=1 $(REF)
	$(BIN)/benchmark sweep --stream three_task --strategies naive,ewc,replay,subnet,joint \
		--seeds 0 --jobs 2 --out $(RESULTS) $(REF)
	$(BIN)/benchmark sweep --stream seven_task --seeds 0 --jobs 2 \
		--strategies lwf,si,mas,agem,gem --out $(RESULTS) $(REF)
	# ablation: Whisper's tied token table trained too (the default freezes it; docs/models.md)
	$(BIN)/benchmark sweep --stream seven_task --strategies naive,subnet --seeds 0 --jobs 2 \
		--out $(RESULTS)/ablation_train_embeddings train_embeddings=true $(REF)
	$(MAKE) report RESULTS=$(RESULTS)

# One aggregate report over every reference run, then the README's generated blocks (from
# results/ only: the README shows the current set).
report: $(STAMP)
	$(BIN)/benchmark report $(wildcard $(addprefix $(RESULTS)/,seven_task three_task \
		adaptation update_exclusive compression/adaptation)) --out $(RESULTS)/report
	$(if $(filter results,$(RESULTS)),$(BIN)/python -m benchmark.reporting.readme)
