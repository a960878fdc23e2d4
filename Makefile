# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PORT ?= 8000
export PATH := $(CURDIR)/.tools/bun/node_modules/.bin:$(CURDIR)/.venv/bin:$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export PORT

.PHONY: run run-prod test install lint migrate seed screenshots

install:
	@scripts/bootstrap.sh

migrate: install
	python -m mentor_app.migrations

seed: migrate
	python -m mentor_app.seed

## Install, migrate, seed the demo and serve the production build on $(PORT).
run: seed
	@echo "==> Mentor circles on http://localhost:$(PORT) (building the frontend first)"
	reflex run --env prod --single-port

## Scale-out: PostgreSQL + Redis, $(WORKERS) backend workers on $(PORT) (see README).
WORKERS ?= 4
run-prod: install
	@if [ -z "$$DATABASE_URL" ] || [ -z "$$REDIS_URL" ]; then \
	  echo "run-prod needs DATABASE_URL=postgresql+psycopg://... and REDIS_URL=redis://..."; exit 2; fi
	python -m mentor_app.migrations
	python -m mentor_app.seed
	@echo "==> Mentor circles on http://localhost:$(PORT) with $(WORKERS) workers"
	GRANIAN_WORKERS=$(WORKERS) reflex run --env prod --single-port

lint: install
	ruff check .
	ruff format --check .
	mypy mentor_app state components

## Install (with Debian chromium), then three lanes side by side, each a process or two:
## (1) the browser and attack tests on SQLite, in two processes (each serves its own app
## from the run's one frontend build; a file's tests stay in one process); (2) the service
## tests on PostgreSQL (a fresh database per test on 127.0.0.1:5432), the longest of the
## lane, from the start, and beside them lint and type-check, then the service tests on
## SQLite, one process each; (3) the confidentiality sweep on SQLite (its
## own app) and the accessibility sweep, then the fault tests and the sweep on PostgreSQL +
## Redis. Lanes 2 and 3 print their output after lane 1's. (The lanes ran one after the
## other until `make test` passed 15 minutes: the tests wait for pages and answers much of
## the time, and the two cores were half idle.)
SQLITE_UNIT_LOG := test-artifacts/pytest-unit-sqlite.log
PG_UNIT_LOG := test-artifacts/pytest-unit-postgresql.log
LINT_LOG := test-artifacts/lint.log
SWEEPS_LOG := test-artifacts/pytest-sweeps-and-faults.log
# The accessibility sweep runs in lane 3, after the SQLite sweep, on its app (no app of its
# own), so that lane 1's two processes carry less.
A11Y_TESTS := tests/e2e/test_accessibility.py tests/e2e/test_accessibility_admin.py
test:
	@scripts/bootstrap.sh --browser
	@mkdir -p test-artifacts
	@( python -m pytest tests/unit --db=postgresql -p no:cacheprovider --durations=10 > $(PG_UNIT_LOG) 2>&1 & pg=$$!; \
	  $(MAKE) --no-print-directory lint > $(LINT_LOG) 2>&1; lint=$$?; \
	  python -m pytest tests/unit -p no:cacheprovider --durations=10 > $(SQLITE_UNIT_LOG) 2>&1; sqlite=$$?; \
	  wait $$pg; on_pg=$$?; test $$lint -eq 0 -a $$sqlite -eq 0 -a $$on_pg -eq 0 ) & units=$$!; \
	( python -m pytest tests/adversarial/test_sweep.py $(A11Y_TESTS) -p no:cacheprovider --durations=10; a=$$?; \
	  python -m pytest tests/adversarial/test_faults.py tests/adversarial/test_sweep.py \
	    --db=postgresql -p no:cacheprovider --durations=10; b=$$?; test $$a -eq 0 -a $$b -eq 0 ) \
	  > $(SWEEPS_LOG) 2>&1 & side=$$!; \
	python -m pytest --ignore=tests/unit --ignore=tests/adversarial/test_sweep.py \
	  $(foreach t,$(A11Y_TESTS),--ignore=$(t)) \
	  -n 2 --dist loadfile --durations=15; browser=$$?; \
	wait $$units; unit=$$?; \
	echo "==> lint and types"; cat $(LINT_LOG); \
	echo "==> tests/unit (SQLite)"; cat $(SQLITE_UNIT_LOG); \
	echo "==> tests/unit --db=postgresql"; cat $(PG_UNIT_LOG); \
	wait $$side; sweeps=$$?; echo "==> the sweeps (SQLite, then PostgreSQL + Redis) and faults"; \
	cat $(SWEEPS_LOG); test $$browser -eq 0 -a $$unit -eq 0 -a $$sweeps -eq 0
	@cat test-artifacts/sweep-*.txt

## Refresh the README screenshots from the browser tests.
screenshots: install
	MENTOR_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots python -m pytest tests/e2e -q
