# pixelforge: `make demo` trains and shows the main job; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PF     := $(VENV)/bin/pixelforge
RUN    ?= runs/demo
THREADS ?= 1

.PHONY: demo test lint bench bench-jobs bench-import wheel-check models docs-tables install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "pixelforge needs Python >= 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# THREADS=1 is what the README's demo time was measured with; `make demo THREADS=4` uses more.
demo: $(VENV)/.installed
	rm -rf $(RUN)
	$(PF) --threads $(THREADS) train --config demo --out $(RUN)
	$(PF) --threads $(THREADS) sample $(RUN) --n 64 --seed 0 --out $(RUN)/grid.png
	$(PF) --threads $(THREADS) interpolate $(RUN) --seed-a 1 --seed-b 2 --frames 48 --out $(RUN)/walk.gif
	$(PF) --threads $(THREADS) eval $(RUN) --data default --split test
	@echo
	@echo "demo done:"
	@echo "  sample grid:   $(RUN)/grid.png"
	@echo "  latent walk:   $(RUN)/walk.gif"
	@echo "  scores:        $(RUN)/metrics.jsonl   (pixelforge info $(RUN))"
	@echo "  training:      $(RUN)/samples/, tensorboard --logdir $(RUN)/tensorboard"

test: $(VENV)/.installed
	$(PY) -m pytest -q

# build the wheel, install it into a fresh venv outside the checkout and use it from there
# (train a shipped recipe, sample, upscale, studio --help); .ci/run runs it before the tests
wheel-check: $(VENV)/.installed
	PY=$(abspath $(PY)) bash .ci/wheel_check.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks

# docs/benchmarks.md: `make bench` makes the throughput table; `make bench-jobs` the table of
# several jobs on one machine. The quality tables take hours: each names its command above it.
bench: $(VENV)/.installed
	$(PY) benchmarks/train_throughput.py

bench-jobs: $(VENV)/.installed
	$(PY) benchmarks/several_jobs.py

# docs/benchmarks.md "Import time": the table is made from the JSON this writes (~3 min)
bench-import: $(VENV)/.installed
	$(PY) benchmarks/import_time.py --runs 11 --json benchmarks/results/import_time.json
	$(PY) benchmarks/import_time.py --from-json benchmarks/results/import_time.json --docs docs/benchmarks.md

# The models shipped in src/pixelforge/assets/models (~6 CPU-hours at one thread: their recipes'
# budgets times their stages, benchmarks/make_models.py STAGES; the denoiser, the x4 photo upscaler
# and the colouriser on the photo set of benchmarks/make_photo_set.py), the two reference models,
# their benchmarks (docs/benchmarks.md "Restoration", ~60 minutes, most of it BM3D on every crop),
# the colouriser's chroma gain, model cards and docs tables.
models: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(PY) benchmarks/make_models.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/restoration.py --json benchmarks/results/restoration.json
	OMP_NUM_THREADS=1 $(PY) benchmarks/translation.py fit-gain --run src/pixelforge/assets/models/colorize
	OMP_NUM_THREADS=1 $(PY) benchmarks/translation.py score colorize_chroma --size 128 \
		--run src/pixelforge/assets/models/colorize --json benchmarks/results/colorize.json
	$(PY) benchmarks/make_models.py --cards-only --results benchmarks/results/restoration.json
	$(PY) benchmarks/docs_tables.py

# rewrite every generated results block in docs/*.md from benchmarks/results/*.json and the
# assets' training.json files (seconds; tests/test_docs_tables.py fails when they are stale)
docs-tables: $(VENV)/.installed
	$(PY) benchmarks/docs_tables.py

clean:
	rm -rf runs .pytest_cache
