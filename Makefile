# ruledesk: the two commands of the README.
#   make start   set up (venv, pip, npm) and start the app on demo data
#   make test    set up and run the whole test suite (SQLite; also PostgreSQL when
#                RULEDESK_TEST_POSTGRES=postgresql://… is set, as .ci/run does)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: setup start test
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
	$(PY) -m pytest
	@if [ -n "$$RULEDESK_TEST_POSTGRES" ]; then \
	  echo "== the same suite on PostgreSQL"; \
	  RULEDESK_TEST_DATABASE_URL="$$RULEDESK_TEST_POSTGRES" $(PY) -m pytest; \
	fi
