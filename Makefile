# Everything a newcomer needs: `make demo` and `make test` on a machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv demo test test-fast lint format typecheck bench eval run broker clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]} ($(PYTHON))"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv  ## embedded broker + sample feed + the service, then a summary
	$(BIN)/streamer demo

test: venv  ## the whole suite: unit, properties, and integration on the embedded broker
	$(BIN)/pytest -q

test-fast: venv  ## everything but the broker tests
	$(BIN)/pytest -q -m "not kafka"

lint: venv
	$(BIN)/ruff check streamer tests bench
	$(BIN)/ruff format --check streamer tests bench

format: venv
	$(BIN)/ruff format streamer tests bench
	$(BIN)/ruff check --fix streamer tests bench

typecheck: venv
	$(BIN)/mypy streamer

bench: venv  ## throughput, fingerprint speed-up, decision rate, memory (needs ../shared/data)
	$(BIN)/python -m bench

eval: venv  ## dedup quality on a labeled Reuters stream, next to the naive pipeline
	$(BIN)/streamer eval

run: venv
	$(BIN)/streamer run

broker: venv
	$(BIN)/streamer broker

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
