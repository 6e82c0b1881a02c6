# Every target installs what it needs first, so a fresh machine needs no other step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

ALPHA ?= 0.5
RESOLUTION ?= 160
WORKDIR ?= runs/mobilenet_v1_$(shell printf '%.2f' $(ALPHA))_$(RESOLUTION)
TRAIN_FLAGS ?=
QUANTIZATION ?= int8
SWEEP_FLAGS ?= --latency_budget_ms 1
BENCH_SECTIONS ?=  # e.g. tflite: rerun only these sections of docs/BENCHMARKS.md

.PHONY: install test train tflite bench sweep costs

install: $(INSTALLED)

# Reinstalls only when a requirements file changes.
$(INSTALLED): requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

test: install
	$(BIN)/python -m pytest -q

# Trains (or resumes) the model; a finished run is left as it is.
train: install
	$(BIN)/python train.py --alpha $(ALPHA) --resolution $(RESOLUTION) --workdir $(WORKDIR) $(TRAIN_FLAGS)

$(WORKDIR)/final.keras: | install
	$(BIN)/python train.py --alpha $(ALPHA) --resolution $(RESOLUTION) --workdir $(WORKDIR) $(TRAIN_FLAGS)

# The main job: train if needed, export int8, report accuracy and latency.
tflite: $(WORKDIR)/final.keras
	$(BIN)/python export_tflite.py --workdir $(WORKDIR) --quantization $(QUANTIZATION)

bench: install
	$(BIN)/python -m benchmarks.run_all $(BENCH_SECTIONS)

# The α × ρ grid (about two hours on 2 cores; rerun to resume), then docs/PAPER_TABLES.md.
sweep: install
	$(BIN)/python -m mobilenet.sweep --out runs/sweep $(SWEEP_FLAGS)
	$(BIN)/python -m benchmarks.paper_tables --sweep runs/sweep

costs: install
	$(BIN)/python -m mobilenet.costs --alpha $(ALPHA) --resolution $(RESOLUTION)
