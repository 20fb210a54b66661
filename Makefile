# Everything a newcomer needs: `make demo` and `make test` on a machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-fast lint format typecheck bench eval run broker clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:[^#]*## /\t/' | expand -t 12

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]} ($(PYTHON))"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)  ## create .venv with the project and its dev tools

demo: venv  ## embedded broker + sample feed + the service, then a summary
	$(BIN)/streamer demo

test: venv  ## the whole suite: unit, properties, and integration on the embedded broker
	$(BIN)/pytest -q

test-fast: venv  ## everything but the broker tests
	$(BIN)/pytest -q -m "not kafka"

lint: venv  ## ruff check and format check
	$(BIN)/ruff check streamer tests bench
	$(BIN)/ruff format --check streamer tests bench

format: venv  ## ruff format and autofix
	$(BIN)/ruff format streamer tests bench
	$(BIN)/ruff check --fix streamer tests bench

typecheck: venv  ## mypy on streamer/ and bench/
	$(BIN)/mypy streamer bench

bench: venv  ## throughput, fingerprint speed-up, decision rate, memory (needs ../shared/data)
	$(BIN)/python -m bench

eval: venv  ## dedup quality on a labeled Reuters stream, next to the naive pipeline
	$(BIN)/streamer eval

run: venv  ## the service with config/streamer.yaml
	$(BIN)/streamer run

broker: venv  ## the embedded broker on :9092
	$(BIN)/streamer broker

clean:  ## remove .venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
