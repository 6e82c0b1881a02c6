# Every target installs what it needs first, so a fresh machine needs no other step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-requirements

ALPHA ?= 0.5
RESOLUTION ?= 160

.PHONY: install test costs

install: $(INSTALLED)

# Reinstalls only when requirements.txt changes.
$(INSTALLED): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	cp requirements.txt $@

test: install
	$(BIN)/python -m pytest -q

costs: install
	$(BIN)/python -m mobilenet.costs --alpha $(ALPHA) --resolution $(RESOLUTION)
