# Fixflow: `make run` and `make test` are all a fresh machine needs (Python 3.11+).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
B      ?=

.PHONY: install lock run dev api worker migrate demo mobile mobile-screenshots page-screenshots test browser chaos lint typecheck format bench i18n clean

install: $(STAMP)

# Everything comes from requirements.lock (exact versions, hashes checked): a fresh machine
# gets what the last `make lock` chose, whatever PyPI released since. The project itself is
# installed editable without build isolation, so its build backend is the locked setuptools.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

lock: install           ## re-lock after editing pyproject.toml; UPGRADE=1 for the newest releases
	$(BIN)/python tools/lockfile.py $(if $(UPGRADE),--upgrade) $(foreach p,$(P),--upgrade-package=$(p))

run: install            ## API + worker with embedded PostgreSQL/Redis, migrations, demo data
	$(BIN)/fixflow dev

dev: run

api: install            ## the API alone (needs DATABASE_URL and REDIS_URL)
	$(BIN)/fixflow api

worker: install         ## the arq worker alone (needs DATABASE_URL and REDIS_URL)
	$(BIN)/fixflow worker

migrate: install        ## alembic upgrade head
	$(BIN)/fixflow migrate

demo: install           ## demo data; HISTORY=60000 adds that much history for the KPIs (docs/history.md)
	$(BIN)/fixflow demo $(if $(HISTORY),--history --work-orders $(HISTORY))

# The engineer app on the desktop, against `make run` (another terminal), logged in as the
# demo engineer. SERVER=, EMAIL=, PASSWORD= to point it elsewhere; its data is in var/mobile.
SERVER   ?= http://127.0.0.1:8000
EMAIL    ?= engineer1@demo.fixflow
PASSWORD ?= fixflow-demo
mobile: install         ## the engineer app (Kivy) on the desktop, logged in as the demo engineer
	$(BIN)/python -m mobile --data var/mobile --server $(SERVER) --email $(EMAIL) --password $(PASSWORD)

mobile-screenshots: install  ## redraw docs/screenshots/mobile-*.png (both languages)
	FIXFLOW_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/mobile/app/test_screenshots.py

page-screenshots: install browser  ## redraw docs/screenshots/customer-*.png and dashboard-*.png (Chromium, both languages)
	FIXFLOW_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/server/portal/test_browser.py tests/server/surveys/test_browser.py tests/server/reports/dashboard/test_browser.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint browser      ## linters, then the whole suite on real PostgreSQL and Redis
	$(BIN)/pytest -q

browser:                ## Debian's Chromium for the customer-page tests (tools/browser.sh)
	bash tools/browser.sh

chaos: install          ## the full sync chaos run (5 phones, 5,000 mutations); CHAOS_SEED=n
	$(BIN)/pytest -q -s -m chaos tests/chaos

bench: install          ## every benchmark, or one: make bench B=ticket_create
	$(BIN)/python -m benchmarks $(B)

i18n: install           ## the app's catalogues: extract marked strings, merge into each .po, compile
	$(BIN)/python tools/i18n.py extract
	$(BIN)/python tools/i18n.py merge
	$(BIN)/python tools/i18n.py compile

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
