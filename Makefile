# The two commands (README.md): `make serve` and `make test`. Both set themselves up first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test setup setup-test lint typecheck contracts schema unit bench

setup:
	@scripts/bootstrap

setup-test:
	@scripts/bootstrap --test

serve: setup
	$(BIN)/trellis serve

test: setup-test lint typecheck contracts schema unit

lint:
	$(BIN)/ruff check app schema tests bench
	$(BIN)/ruff format --check app schema tests bench

typecheck:
	$(BIN)/mypy

contracts:
	$(BIN)/lint-imports

schema:
	$(BIN)/trellis export-schema --check

unit:
	$(BIN)/pytest -n 2 -q

bench: setup
	$(BIN)/python -m bench.run
