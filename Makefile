# ruledesk: the two commands of the README.
#   make start   set up (venv, pip, npm) and start the app on demo data
#   make test    set up and run the whole test suite on SQLite, then the same suite on
#                PostgreSQL when RULEDESK_TEST_POSTGRES=postgresql://… is set (.ci/run does)
# `make test PYTEST_ARGS="-k invoice"` passes arguments on to pytest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=
# -rfEs: list failures, errors and why anything was skipped (e.g. no chromium), so a skip is never silent
PYTEST := $(PY) -m pytest -rfEs $(PYTEST_ARGS)

# Run pytest ($(1): environment prefix, $(2): what is being run). pytest's exit code 5 (no
# tests collected) fails the target like any other non-zero code, and says so.
define run_pytest
	@echo "== the test suite on $(2)"
	@$(1) $(PYTEST) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests ($(2))" >&2; fi; \
	  exit $$rc; }
endef

.PHONY: setup start test test-sqlite test-postgres
setup: $(VENV)/.installed static/vendor/htmx.min.js

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

start: setup
	$(PY) app.py

test: setup
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$RULEDESK_TEST_POSTGRES" ]; then \
	  $(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CI" = true ]; then \
	  echo "make test: CI=true but RULEDESK_TEST_POSTGRES is not set (.ci/run sets it)" >&2; \
	  exit 1; \
	else \
	  echo "== PostgreSQL run skipped: set RULEDESK_TEST_POSTGRES=postgresql://… to add it"; \
	fi

test-sqlite: setup
	$(call run_pytest,env -u RULEDESK_TEST_DATABASE_URL,SQLite)

test-postgres: setup
	@test -n "$$RULEDESK_TEST_POSTGRES" || \
	  { echo "make test-postgres: set RULEDESK_TEST_POSTGRES=postgresql://…" >&2; exit 1; }
	$(call run_pytest,RULEDESK_TEST_DATABASE_URL="$$RULEDESK_TEST_POSTGRES",PostgreSQL)
