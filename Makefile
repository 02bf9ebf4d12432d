# CLOSRADS developer commands. `make demo` and `make test` are the two README commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UV_VERSION := 0.13.9

# The local Airflow: a git-ignored home in the repo, SQLite, LocalExecutor, no examples.
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
export AIRFLOW__API__EXPOSE_CONFIG := False
# The local UI listens on localhost only.
export AIRFLOW__API__HOST := 127.0.0.1
# include/ and sandbox/ are imported as top-level packages from the repository root.
export PYTHONPATH := $(CURDIR):$(CURDIR)/plugins
export PATH := $(BIN):$(PATH)
SANDBOX_PORT ?= 8765
export CLOSRADS_SANDBOX_PORT := $(SANDBOX_PORT)

.PHONY: help install airflow-home demo airflow sandbox sandbox-stop sandbox-reset test test-unit test-deployment lint format lock region-keys clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed  ## create .venv and install the locked dependencies

$(AIRFLOW_HOME)/.ready: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	{ echo "# source this file to use the airflow CLI against the local Airflow home"; \
	  for v in AIRFLOW_HOME AIRFLOW__CORE__DAGS_FOLDER AIRFLOW__CORE__PLUGINS_FOLDER AIRFLOW__CORE__LOAD_EXAMPLES AIRFLOW__API__HOST \
	           AIRFLOW__CORE__EXECUTOR AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION PYTHONPATH; do \
	    echo "export $$v='$${!v}'"; done; echo "export PATH='$(BIN):'\"\$$PATH\""; } > $(AIRFLOW_HOME)/env.sh
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }
	touch $@

airflow-home: $(AIRFLOW_HOME)/.ready  ## prepare .airflow/ (config via env, SQLite DB migrated)

demo: airflow-home  ## one live sync of closrads_sync against the sandbox, with before/after targeting
	$(BIN)/python scripts/demo.py --port $(SANDBOX_PORT)

airflow: airflow-home  ## airflow standalone (UI on :8080) wired to the sandbox
	$(BIN)/python -m sandbox start --port $(SANDBOX_PORT)
	$(BIN)/python -m sandbox connections $(AIRFLOW_HOME)/sandbox-connections.json --port $(SANDBOX_PORT)
	$(BIN)/airflow connections import --overwrite $(AIRFLOW_HOME)/sandbox-connections.json
	trap '$(BIN)/python -m sandbox stop' EXIT; $(BIN)/airflow standalone

sandbox: install  ## start the sandbox in the background (state kept in .sandbox/)
	$(BIN)/python -m sandbox start --port $(SANDBOX_PORT)

sandbox-stop:  ## stop the background sandbox
	$(BIN)/python -m sandbox stop

sandbox-reset: install  ## restore the sandbox's default scenario
	$(BIN)/python -m sandbox reset --port $(SANDBOX_PORT)

test: install  ## the whole test suite (unit, DAG integrity, integration through real Airflow runs)
	$(BIN)/pytest

test-unit: install  ## only the tests that need no Airflow database
	$(BIN)/pytest tests/unit

test-deployment: install  ## only the multi-process deployment test (PostgreSQL, Redis, Celery)
	$(BIN)/pytest -m deployment

lint: install  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: install  ## re-resolve requirements*.txt into the lock files
	$(BIN)/uv pip compile --quiet --universal -p 3.11 requirements.txt -o requirements.lock
	$(BIN)/uv pip compile --quiet --universal -p 3.11 requirements-dev.txt -c requirements.lock -o requirements-dev.lock

region-keys: airflow-home  ## compare include/fb_region_keys.json with Graph's region search (WRITE=1 to update)
	$(BIN)/python scripts/refresh_region_keys.py $(if $(WRITE),--write)

clean:  ## remove the local Airflow home and sandbox state (keeps .venv)
	-$(BIN)/python -m sandbox stop
	rm -rf $(AIRFLOW_HOME) .sandbox
