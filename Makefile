# Yiwang — the two commands that matter: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-sqlite test-postgres lint bench setup system-packages serve clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v python3.11 >/dev/null && python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.installed

## make demo: set up, migrate the embedded SQLite database under var/, load the demo city once, serve it.
demo: setup
	@scripts/demo.sh

## make test: set up (Debian packages, PostgreSQL), run every test on SQLite and on PostgreSQL.
test: setup
	@scripts/test.sh

test-sqlite: setup
	@YIWANG_TEST_DATABASES=sqlite scripts/test.sh

test-postgres: setup
	@YIWANG_TEST_DATABASES=postgres scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check .

## make bench: benchmarks under bench/ (PostGIS from Debian for the comparison).
bench: setup
	@scripts/bench.sh

clean:
	rm -rf var .pytest_cache .ruff_cache
