# Berth developer entry points.
#   make run    dev server on 0.0.0.0:5000 (SQLite + blobs under ./var/; RUN_ADDR=host:port to move it)
#   make test   install test dependencies, start PostgreSQL + dockerd, run pytest, stop them
#   make lint   ruff check + ruff format --check
# PYTEST_ARGS="-k docker -x" passes options to pytest.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
RUN_ADDR ?= 0.0.0.0:5000

.PHONY: run test lint

$(PY):
	$(PYTHON) -m venv $(VENV)

run: $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) manage.py migrate
	$(PY) manage.py runserver $(RUN_ADDR)

test:
	bash scripts/test-deps.sh
	bash scripts/run-tests.sh $(PYTEST_ARGS)

lint: $(PY)
	@test -x $(VENV)/bin/ruff || $(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
