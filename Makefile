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

## Install (with Debian chromium), lint and type-check; the service tests on SQLite and on
## PostgreSQL (a fresh database per test on 127.0.0.1:5432) side by side, one a core; then,
## side by side again, the browser and attack tests on SQLite in two processes (each builds
## and serves its own app; a file's tests stay in one process) and, in a third process, the
## confidentiality sweep on SQLite (its own app) and the accessibility sweep, then the fault tests and the sweep on
## PostgreSQL + Redis. The third process's output follows the browser tests'. (The phases
## ran one after the other until `make test` passed 15 minutes: the browser tests wait for
## pages much of the time, and the two cores were half idle.)
PG_UNIT_LOG := test-artifacts/pytest-unit-postgresql.log
SWEEPS_LOG := test-artifacts/pytest-sweeps-and-faults.log
# The accessibility sweep runs in the third process, after the SQLite sweep, on its app
# (no build of its own), so that the browser tests' two processes carry less.
A11Y_TESTS := tests/e2e/test_accessibility.py tests/e2e/test_accessibility_admin.py
test:
	@scripts/bootstrap.sh --browser
	$(MAKE) --no-print-directory lint
	@mkdir -p test-artifacts
	python -m pytest tests/unit --db=postgresql -n 2 -p no:cacheprovider > $(PG_UNIT_LOG) 2>&1 & pg=$$!; \
	python -m pytest tests/unit; sqlite=$$?; \
	wait $$pg; on_pg=$$?; echo "==> tests/unit --db=postgresql"; cat $(PG_UNIT_LOG); \
	test $$sqlite -eq 0 -a $$on_pg -eq 0
	( python -m pytest tests/adversarial/test_sweep.py $(A11Y_TESTS) -p no:cacheprovider; a=$$?; \
	  python -m pytest tests/adversarial/test_faults.py tests/adversarial/test_sweep.py \
	    --db=postgresql -p no:cacheprovider; b=$$?; test $$a -eq 0 -a $$b -eq 0 ) \
	  > $(SWEEPS_LOG) 2>&1 & side=$$!; \
	python -m pytest --ignore=tests/unit --ignore=tests/adversarial/test_sweep.py \
	  $(foreach t,$(A11Y_TESTS),--ignore=$(t)) \
	  -n 2 --dist loadfile --durations=15; browser=$$?; \
	wait $$side; sweeps=$$?; echo "==> the sweeps (SQLite, then PostgreSQL + Redis) and faults"; \
	cat $(SWEEPS_LOG); test $$browser -eq 0 -a $$sweeps -eq 0
	@cat test-artifacts/sweep-*.txt

## Refresh the README screenshots from the browser tests.
screenshots: install
	MENTOR_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots python -m pytest tests/e2e -q
