# Every target installs what it needs first, so a fresh machine needs no other step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

ALPHA ?= 0.5
RESOLUTION ?= 160
# The run directory's name is made in one place, mobilenet/names.py (which imports nothing heavy).
WORKDIR ?= $(shell $(PYTHON) -c 'from mobilenet.names import default_workdir; print(default_workdir($(ALPHA), $(RESOLUTION)))')
TRAIN_FLAGS ?=
QUANTIZATION ?= int8
# The committed docs/sweep.md: the paper's one-factor grid at ρ up to the data's own, trained 3
# epochs a model and again, from scratch, 6: both fit in a working session on 2 cores (rerun to resume).
SWEEP_FLAGS ?= --grid paper --epochs 3 --doubled --latency_budget_ms 1
SWEEP_OUT ?= runs/paper
PUBLISHED_FLAGS ?= --latency_budget_ms 1
BENCH_SECTIONS ?=  # e.g. tflite: rerun only these sections of docs/BENCHMARKS.md

.PHONY: install test test-fast train tflite bench sweep published costs node_modules chromium compiler web

install: $(INSTALLED)

# Reinstalls only when a requirements file or pyproject.toml changes. The package itself is
# installed editable, so the mobilenet-* commands exist in .venv/bin and run this checkout.
$(INSTALLED): requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

# Two processes, each taking whole test files (a file's fixtures are made once): much of a test is
# one-threaded (TFLite conversion, a subprocess importing TensorFlow), so two overlap well on 2 cores.
TEST_WORKERS ?= 2
test: install node_modules chromium compiler
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The inner loop: everything but the tests marked slow (chaos, distributed, browser, end to end).
test-fast: install node_modules
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

# The web page's npm packages (LiteRT.js), as package-lock.json pins them; reinstalled when the lock changes.
node_modules: node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian's packages the tests need, installed where they are missing (sudo when not root).
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null && echo sudo)
# A C++ compiler for the test that compiles the microcontroller build's generated sources.
compiler:
	@if command -v g++ >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y g++; \
	else echo "no g++: install a C++ compiler (the test of the generated C++ sources skips without it)"; fi

# Chromium for the browser tests. On macOS or Windows, install Chrome or Chromium yourself and set
# MOBILENET_CHROMIUM to its executable.
chromium:
	@if [ -n "$$MOBILENET_CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
	  || command -v google-chrome >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "no Chromium: install Chrome or Chromium and set MOBILENET_CHROMIUM (the browser tests skip without it)"; fi

# The page classifying images with the default run's int8 file (WEB_FLAGS="--port 8000"; any file:
# make web WEB_TFLITE=other.tflite, or python -m mobilenet web --tflite FILE [--port P]).
WEB_TFLITE ?= $(WORKDIR)/$(shell $(PYTHON) -c 'from mobilenet.names import tflite_name; print(tflite_name($(ALPHA), $(RESOLUTION), "int8"))')
WEB_FLAGS ?=
web: install node_modules
	$(BIN)/python -m mobilenet web --tflite $(WEB_TFLITE) $(WEB_FLAGS)

# Trains (or resumes) the model; a finished run is left as it is.
train: install
	$(BIN)/python train.py --alpha $(ALPHA) --resolution $(RESOLUTION) --workdir $(WORKDIR) $(TRAIN_FLAGS)

$(WORKDIR)/final.keras: | install
	$(BIN)/python train.py --alpha $(ALPHA) --resolution $(RESOLUTION) --workdir $(WORKDIR) $(TRAIN_FLAGS)

# The main job: train if needed, export int8, report accuracy and latency.
tflite: $(WORKDIR)/final.keras
	$(BIN)/python export_tflite.py --workdir $(WORKDIR) --quantization $(QUANTIZATION)

# Benchmark-only packages (scikit-learn's linear probe) on top of what the tests install.
bench: install
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m benchmarks.run_all $(BENCH_SECTIONS)

# The α × ρ sweep, then docs/PAPER_TABLES.md with its table and plots (docs/sweep.md,
# docs/accuracy_vs_*.png). The whole 16-model grid: SWEEP_FLAGS="--epochs 8" SWEEP_OUT=runs/sweep.
sweep: install
	$(BIN)/python -m mobilenet sweep --out $(SWEEP_OUT) $(SWEEP_FLAGS)
	$(BIN)/python -m benchmarks.paper_tables --sweep $(SWEEP_OUT)

# The published ImageNet top-1 of each α × ρ beside its int8 latency on this machine: no
# training, minutes. Its table and plot go to docs/ (shown in the README).
published: install
	$(BIN)/python -m mobilenet sweep --accuracy_source published --out runs/published $(PUBLISHED_FLAGS)
	cp runs/published/sweep.md docs/published_sweep.md
	cp runs/published/accuracy_vs_latency.png docs/published_accuracy_vs_latency.png

costs: install
	$(BIN)/python -m mobilenet costs --alpha $(ALPHA) --resolution $(RESOLUTION)
