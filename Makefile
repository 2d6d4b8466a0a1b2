# Patchproof: the two set-up commands (`make run`, `make test`) and a few helpers.
# Everything is installed into .venv from requirements*.txt; nothing global is assumed
# beyond Python 3.11 (and, for PDFs, Pango: Debian package libpango-1.0-0).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
DEMO_PASSWORD ?= patchproof-demo

# `make run` is a development server: DEBUG on, SQLite under var/ unless DATABASE_URL is set,
# tasks in-process unless REDIS_URL is set.
RUN_ENV := DEBUG=1 DEMO_PASSWORD=$(DEMO_PASSWORD)

# Lint, type and migration checks import the settings, which need a SECRET_KEY when DEBUG is off.
CHECK_ENV := SECRET_KEY=$${SECRET_KEY:-checks-only-not-a-secret}

# `make test` with CI=true runs against real PostgreSQL and Redis (and fails without them).
ifeq ($(CI),true)
TEST_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/patchproof} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0}
else
TEST_ENV :=
endif

.PHONY: run test lint types bench worker screenshots packet clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	mkdir -p var
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	@echo
	@echo "Patchproof is starting on http://127.0.0.1:8000/"
	@echo "Demo logins (password: $(DEMO_PASSWORD)):"
	@echo "  officer@acme.example     compliance officer of Acme (uploads, packets, tokens)"
	@echo "  lead@acme.example        owner of Acme (approves the officer's exceptions)"
	@echo "  viewer@acme.example      read-only member of Acme"
	@echo "  auditor@audit.example    auditor with a live grant on Acme"
	@echo "  admin@patchproof.example staff: /admin/ (early-access registrations)"
	@echo "  officer@globex.example   officer of Globex, a second organisation"
	@echo
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:8000

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.installed-dev
	$(CHECK_ENV) $(BIN)/mypy .

test: $(VENV)/.installed-dev lint types
	$(CHECK_ENV) $(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(PY) bench/run.py

# The README's pictures under docs/: the pages (from the browser tests, which need PostgreSQL
# and Redis for the real worker) and pages 1 and 2 of a demo packet.
screenshots: $(VENV)/.installed-dev
	PATCHPROOF_SCREENSHOTS=docs DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/patchproof} \
		REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
		$(BIN)/pytest -q -p no:logging tests/test_browser.py tests/test_browser_journey.py
	rm -rf var/screens && mkdir -p var/screens
	PATCHPROOF_VAR_DIR=var/screens $(RUN_ENV) $(PY) manage.py migrate -v0
	PATCHPROOF_VAR_DIR=var/screens $(RUN_ENV) $(PY) manage.py seed_demo
	PATCHPROOF_VAR_DIR=var/screens $(RUN_ENV) $(PY) manage.py build_packet --org acme \
		--last-quarter --out var/screens
	pdftoppm -png -r 80 -f 2 -l 2 -singlefile var/screens/*.pdf docs/packet-page
	pdftoppm -png -r 80 -f 1 -l 1 -singlefile var/screens/*.pdf docs/packet-cover

# The demo organisation's audit packet for the last quarter, after `make run` (same database).
packet: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py build_packet --org acme --last-quarter --out out
	$(RUN_ENV) $(PY) manage.py verify_packet "$$(ls -t out/patchproof-acme-*.pdf | head -1)"

worker: $(VENV)/.installed
	$(BIN)/celery -A portal worker -Q ingest,feeds,packets --loglevel INFO

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
