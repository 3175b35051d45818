# codegraph — the commands the README tells people to run.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0

.PHONY: mine adapt realfix int8 testsets train-baseline threshold setup demo test lint bench docs train clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the CPU build of torch first: a plain `torch` requirement would pull a multi-GB CUDA build
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/codegraph scan examples/ ; test $$? -le 1

test: $(STAMP)
	$(BIN)/python -m pytest -q
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory -C vscode-extension test PYTHON=$(abspath $(BIN)/python); \
	else echo "node not found: skipping the VS Code extension tests"; fi

lint: $(STAMP)
	$(BIN)/ruff check codegraph models lsp tests benchmarks
	$(BIN)/ruff format --check codegraph models lsp tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# docs/rules/CGxxx.md from the rule classes' docstrings (SARIF's helpUri links there; a test holds them equal)
docs: $(STAMP)
	$(BIN)/python -c "from codegraph.rule_docs import write_docs; write_docs()"

# the shipped checkpoint's recipe, all phases: phase 1 on injected bugs (corpus, two dataset
# builds, shipped.toml; about 3 hours on 2 cores), then the real fixes (`make mine`: about an
# hour when the mirrors must be cloned), phase 1b on injected bugs drawn like them (`make adapt`:
# about 45 minutes) and phase 2 on them (`make realfix`: about 50 minutes); every step resumes
# after an interruption
train: $(STAMP)
	$(BIN)/codegraph train corpus build
	$(BIN)/codegraph train dataset build --out data/dataset-full --seed 0 --jobs 2
	$(BIN)/codegraph train dataset build --out data/dataset-seed1 --seed 1 --splits train --vocab data/dataset-full --jobs 2
	$(BIN)/codegraph train run --config models/training/shipped.toml --resume --export $(PHASE1)
	$(MAKE) --no-print-directory mine adapt realfix
	$(MAKE) --no-print-directory testsets
	$(BIN)/codegraph train eval --checkpoint models/weights/detector \
		$(if $(wildcard runs/baseline/export/baseline.json),--baseline runs/baseline/export/baseline) \
		$(EVALDATA) --split test --out models/weights/EVAL.md

# phase 1's export: the start of phase 1b (adapt.toml's [train] init)
PHASE1 := runs/phase1/export/detector
# phase 1b's export: the start of phase 2 (realfix.toml's [train] init)
ADAPT := runs/adapt/export/detector
MUTATIONS := models/training/mutations.json
# the shipped model before phase 2 replaces it: REALFIX-EVAL.md's "previous" column, at the
# default threshold codegraph.config holds for it
PREVIOUS := runs/previous/detector
PREVIOUS_T = $(DEFAULT_T)

# EVAL.md's test set: the held-out packages' test split with injection seed 0 (data/dataset-full)
# and seeds 1-3 (other bugs in the same functions, the training vocabulary): 4x the units,
# so the per-bucket comparisons are not left to sampling noise (about 3 minutes a seed)
TESTSEEDS := 1 2 3
EVALDATA := --data data/dataset-full $(foreach k,$(TESTSEEDS),--data data/test-seed$(k))
testsets: $(STAMP)
	for k in $(TESTSEEDS); do \
		$(BIN)/codegraph train dataset build --out data/test-seed$$k --seed $$k --splits test \
			--vocab data/dataset-full --jobs 2 || exit 1; \
	done

# the GGNN baseline with the detector's inputs and budget: both training builds of `make train`,
# the same steps (run it after the datasets of `make train`, before its eval step to have it in
# EVAL.md; about an hour on one thread beside another run, with pruned training); STEPS overrides
# its budget (default: shipped.toml's steps, the detector's)
STEPS ?=
train-baseline: $(STAMP)
	$(BIN)/codegraph train run --config models/training/shipped.toml --resume --set model.kind=baseline \
		$(if $(STEPS),--set optim.steps=$(STEPS)) --out runs/baseline --export runs/baseline/export/baseline

# real one-token fixes from the git histories of the pinned repositories (models/training/mine_pins.txt):
# bare clones under MIRRORS (cloned from GitHub when missing), one records file per repository under
# data/realfixes/records (resumable), then the split by repository and the counts
MIRRORS ?= data/mirrors
mine: $(STAMP)
	$(BIN)/codegraph train mine --pins models/training/mine_pins.txt --mirrors $(MIRRORS) --out data/realfixes --clone --jobs 2
	$(BIN)/codegraph train mine split --data data/realfixes
	$(BIN)/codegraph train mine report --data data/realfixes

# phase 1b (adapt.toml): the phase-1 weights trained on injected bugs of the current candidate
# enumeration drawn from the mutation fit of the real training fixes (which token real bugs put
# where: `codegraph train mutations fit`, models/training/mutations.json), validated on the real
# validation pairs (needs `make mine` and phase 1)
adapt: $(STAMP)
	$(REALFIX) build --data data/realfixes --out data/realfix-dataset --clean 2 --splits valid
	$(BIN)/codegraph train mutations fit --data data/realfixes --out $(MUTATIONS)
	$(BIN)/codegraph train dataset build --out data/dataset-fitted --splits train --seed 2 --file-fraction 0.25 \
		--vocab data/realfix-dataset/vocab.json --mutations $(MUTATIONS) --jobs 2
	$(BIN)/codegraph train run --config models/training/adapt.toml --resume --export $(ADAPT)

# phase 2 on real fixes: the pairs (buggy function with its real fix, fixed function) and clean
# functions of the training split, fine-tuning phase 1b's
# weights (models/training/realfix.toml) into the shipped model; then the score inputs of the
# validation and test splits, the threshold chosen on validation (real fixes, their files' other
# functions and the corpus's validation packages as released code), and the real-fix report of
# phase 1 (at its default 0.97), the previous shipped model (at its default) and the new one side by
# side (needs `make mine` and `make adapt` first)
REALFIX := $(BIN)/codegraph train realfixes
RF := runs/realfix
DEFAULT_T = $$($(BIN)/python -c "from codegraph.config import DEFAULT_MIN_CONFIDENCE as t; print(t)")
realfix: $(STAMP)
	test -f $(PREVIOUS).json || { mkdir -p $(dir $(PREVIOUS)) && cp models/weights/detector.json \
		models/weights/detector.safetensors $(dir $(PREVIOUS)); }
	$(REALFIX) build --data data/realfixes --out data/realfix-dataset --clean 1 --splits train
	$(BIN)/codegraph train run --config models/training/realfix.toml --resume --max-steps 1000 \
		--export models/weights/detector
	$(REALFIX) cache --split valid --clean 1 --out $(RF)/cache-valid.pt
	$(REALFIX) cache --split test --clean 1 --out $(RF)/cache-test.pt
	$(BIN)/codegraph train threshold flags --split valid --checkpoint models/weights/detector \
		--json $(RF)/corpus-flags-valid.json
	$(REALFIX) threshold --cache $(RF)/cache-valid.pt --checkpoint models/weights/detector \
		--corpus-flags $(RF)/corpus-flags-valid.json --json $(RF)/threshold.json
	$(REALFIX) eval --cache $(RF)/cache-test.pt --released $(RF)/cache-test.pt --linters \
		--linters-json $(RF)/linters-test.json --model phase-1 $(PHASE1) 0.97 \
		--model previous $(PREVIOUS) $(PREVIOUS_T) \
		--model new models/weights/detector $$(python3 -c "import json; print(json.load(open('$(RF)/threshold.json'))['choice'][0])") \
		--out models/weights/REALFIX-EVAL.md
	$(BIN)/codegraph train eval --checkpoint models/weights/detector --baseline $(PHASE1) \
		--data data/dataset-full --split test --out models/weights/EVAL-phase2.md
	$(MAKE) --no-print-directory int8

# the runtime model that scans run: int8 when joint and no-bug accuracy stay within 0.5 points
# of float32 on the injected test split (the table quantize_bench prints) and on the real fixes
# (REALFIX-INT8.md: the torch model beside the int8 runtime at the default threshold)
int8: $(STAMP)
	$(BIN)/python benchmarks/quantize_bench.py --data data/dataset-full --split test
	$(BIN)/codegraph train export models/weights/detector --int8
	$(REALFIX) eval --cache $(RF)/cache-test.pt --model torch models/weights/detector $(DEFAULT_T) \
		--model int8-runtime runtime:models/weights/detector $(DEFAULT_T) --out models/weights/REALFIX-INT8.md

# the default threshold, chosen on the validation packages (their injected bugs and their
# released code; after `make train`): writes runs/threshold/THRESHOLD.md
THR := runs/threshold
threshold: $(STAMP)
	$(BIN)/codegraph train eval --checkpoint models/weights/detector --data data/dataset-full --split valid \
		--out $(THR)/EVAL-valid.md --json $(THR)/eval-valid.json
	$(BIN)/codegraph train threshold flags --split valid --json $(THR)/real-valid.json
	$(BIN)/codegraph train threshold choose --eval $(THR)/eval-valid.json --real $(THR)/real-valid.json \
		--min-precision 0.95 --max-flag-rate 0.001 --out $(THR)/THRESHOLD.md

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
