# pixelforge: `make demo` trains and shows the main job; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PF     := $(VENV)/bin/pixelforge
RUN    ?= runs/demo

.PHONY: demo test lint bench install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "pixelforge needs Python >= 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	rm -rf $(RUN)
	$(PF) train --config configs/demo.yaml --out $(RUN)
	$(PF) sample $(RUN) --n 64 --seed 0 --out $(RUN)/grid.png
	$(PF) interpolate $(RUN) --seed-a 1 --seed-b 2 --frames 48 --out $(RUN)/walk.gif
	$(PF) eval $(RUN) --data default --split test
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

bench: $(VENV)/.installed
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf runs .pytest_cache
