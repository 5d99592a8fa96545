# 技术转移撮合平台 — the two commands a newcomer needs are `make run` and `make test`.
# Every variable below can be overridden: `make run PORT=8000`, `HOST=0.0.0.0 make run`.

PYTHON      ?= python3
VENV        ?= .venv
HOST        ?= 127.0.0.1
PORT        ?= 5000
WORKERS     ?= 2
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (0 runs the suite in one process).
PYTEST_WORKERS ?= 2

BIN   := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.DEFAULT_GOAL := help
.PHONY: help venv dev run test lint clean distclean

help:
	@echo "make run    install into $(VENV), migrate, load reference + demo data,"
	@echo "            serve on http://$(HOST):$(PORT) with gunicorn"
	@echo "make test   install dev tools, ruff check, pytest on $(PYTEST_WORKERS) workers"
	@echo "            (PYTEST_ARGS=..., PYTEST_WORKERS=0 for one process)"
	@echo "make venv | dev | lint | clean | distclean"

# The stamps live inside the virtualenv, so deleting $(VENV) resets them, and they
# are remade whenever the package metadata changes.
$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

dev: $(VENV)/.installed-dev

# Migrate, load the reference data (idempotent), load the demo data only into an
# empty database, rebuild the search index when the `search` command exists, then
# hand the process over to gunicorn. --limit-request-line 0 lifts gunicorn's
# request-line cap (default 4094, at most 8190), whose English "URI Too Long"
# page has none of our security headers: the app answers an overlong URL with
# its own Chinese 414 page instead (marketplace/errors.py, MAX_URI_LENGTH).
run: venv
	$(FLASK) db upgrade
	$(FLASK) load-reference
	$(FLASK) seed-demo --if-empty
	if $(FLASK) search --help >/dev/null 2>&1; then $(FLASK) search reindex; fi
	exec $(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) \
		--limit-request-line 0 --access-logfile - wsgi:app

test: dev
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check .

# Build and test leftovers only: the virtualenv, instance/ (the development
# database and secret key) and the search index are kept.
clean:
	rm -rf build dist test-artifacts .pytest_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune \
		-exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
