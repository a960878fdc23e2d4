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

## Install (with Debian chromium), lint, type-check and run the whole suite, then the
## service and fault tests again on PostgreSQL (a fresh database per test on 127.0.0.1:5432).
test:
	@scripts/bootstrap.sh --browser
	$(MAKE) --no-print-directory lint
	python -m pytest
	python -m pytest tests/unit tests/adversarial/test_faults.py --db=postgresql

## Refresh the README screenshots from the browser tests.
screenshots: install
	MENTOR_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots python -m pytest tests/e2e -q
