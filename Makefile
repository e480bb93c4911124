# The two commands: `make run` (demo on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
INSTANCE ?= instance
# pytest-xdist workers for `make test`: one per core.
TEST_WORKERS ?= auto

.PHONY: run serve worker test install translations messages lint format clean bench-report bench-pages bench-import

$(BIN)/pilot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/pilot translations

translations: $(BIN)/pilot
	$(BIN)/pybabel compile --use-fuzzy -d pilot/translations -D messages >/dev/null

messages: $(BIN)/pilot
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
		-o pilot/translations/messages.pot .
	$(BIN)/pybabel update -i pilot/translations/messages.pot -d pilot/translations --no-fuzzy-matching

$(INSTANCE)/config.py:
	mkdir -p $(INSTANCE)
	$(BIN)/python -c "import secrets; print('SECRET_KEY = ' + repr(secrets.token_hex(32)))" > $@

run: install $(INSTANCE)/config.py
	$(BIN)/pilot db upgrade
	$(BIN)/pilot frameworks load
	if $(BIN)/pilot db is-empty; then $(BIN)/pilot demo load; fi
	$(BIN)/pilot run --host 127.0.0.1 --port $(PORT)

# The production server (gunicorn) on the configured database; PILOT_SECRET_KEY or
# instance/config.py must hold the key.
serve: install
	$(BIN)/pilot db upgrade
	$(BIN)/pilot frameworks load
	$(BIN)/pilot serve --bind 127.0.0.1:$(PORT)

# The background worker beside `make serve` (batch ZIPs, reports archived after closing).
worker: install
	$(BIN)/pilot worker

test: install
	$(BIN)/ruff check pilot tests migrations/env.py benchmarks
	$(BIN)/ruff format --check pilot tests migrations/env.py benchmarks
	$(BIN)/bandit --quiet --recursive pilot
	$(BIN)/pytest -n $(TEST_WORKERS)

bench-report: install
	$(BIN)/python benchmarks/report.py

# A 5,000-row roster import (SQLite; PostgreSQL when PILOT_DATABASE_URL names a server).
bench-import: install
	$(BIN)/python benchmarks/import_roster.py

# Pages under load on 2,000 firms (SQLite; PostgreSQL when PILOT_DATABASE_URL names a server).
# Needs wrk: apt-get install -y wrk
bench-pages: install
	@command -v wrk >/dev/null || { echo "bench-pages needs wrk: apt-get install -y wrk"; exit 1; }
	$(BIN)/python benchmarks/pages.py

lint: $(BIN)/pilot
	$(BIN)/ruff check --fix pilot tests migrations/env.py benchmarks
	$(BIN)/ruff format pilot tests migrations/env.py benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
