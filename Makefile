# pixelforge: `make demo` trains and shows the main job; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PF     := $(VENV)/bin/pixelforge
RUN    ?= runs/demo
THREADS ?= 1

.PHONY: demo test lint bench bench-jobs models install clean

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
	$(PF) --threads $(THREADS) train --config configs/demo.yaml --out $(RUN)
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

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks

# docs/benchmarks.md: `make bench` makes the throughput table; `make bench-jobs` the table of
# several jobs on one machine. The quality tables take hours: each names its command above it.
bench: $(VENV)/.installed
	$(PY) benchmarks/train_throughput.py

bench-jobs: $(VENV)/.installed
	$(PY) benchmarks/several_jobs.py

# The restoration models shipped in src/pixelforge/assets/models (19 CPU-minutes at one thread,
# plus 4.5 for the two reference models), their benchmark (docs/benchmarks.md "Restoration", ~30
# minutes, most of it BM3D, run on 5 crops) and model cards.
models: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(PY) benchmarks/make_models.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/restoration.py --bm3d-n 5 --json benchmarks/results/restoration.json
	$(PY) benchmarks/make_models.py --cards-only --results benchmarks/results/restoration.json

clean:
	rm -rf runs .pytest_cache
