# The two commands of the README: `make run` (whole system, locally) and `make test`.
# Both set up what they need first: a virtualenv with brandpulse, and the system packages.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# grafana-client brings urllib3-future, which would otherwise replace urllib3 for every library.
export URLLIB3_NO_OVERRIDE := true
# rustup puts cargo here; the native sentiment scorer (native/) is built with it.
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: run test lint pytest setup system-deps bench stack-down clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

run: setup  ## run the whole system locally: stack, worker, synthetic traffic (Ctrl-C stops)
	$(BIN)/brandpulse run

test: setup  ## lint, type-check and run every test (starts its own stack on free ports)
	$(MAKE) lint
	$(BIN)/pytest

lint:  ## ruff and mypy; rustfmt and clippy on native/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if command -v cargo >/dev/null; then \
	  cd native && cargo fmt --check && cargo clippy --quiet --release -- -D warnings; \
	else echo "no cargo: native/ not linted" >&2; fi

bench: setup  ## throughput and latency benchmarks on the local stack (see bench/README.md)
	$(BIN)/brandpulse stack up
	$(BIN)/python -m bench.throughput

stack-down:  ## stop the local stack
	$(BIN)/brandpulse stack down

setup: $(VENV)/.installed system-deps

$(VENV)/.installed: pyproject.toml native/Cargo.toml native/Cargo.lock $(wildcard native/src/*.rs)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@scripts/install-native $(BIN)/pip
	touch $@

system-deps:
	@scripts/install-system-deps

clean:  ## remove the virtualenv and the local stack's state (stop the stack first)
	rm -rf $(VENV) .brandpulse
