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
# The Connection form's Test button runs the CLOSRTECH and Facebook hooks' own checks (as in docker-compose.yaml).
export AIRFLOW__CORE__TEST_CONNECTION := Enabled
# The local UI listens on localhost only. One variable moves every port of the local Airflow:
# `make airflow AIRFLOW_PORT=18080` serves the UI/API there, points the tasks' execution API and the
# links in Slack messages at it, and moves the log servers with it (8793/8794 for the default 8080;
# WORKER_LOG_PORT= and TRIGGER_LOG_PORT= set them apart). `make airflow` remembers its port in
# .airflow/port, so `make demo`, `make overview` and .airflow/env.sh keep talking to that Airflow.
AIRFLOW_PORT ?= $(or $(shell cat $(AIRFLOW_HOME)/port 2>/dev/null),8080)
WORKER_LOG_PORT ?= $(shell echo $$(( $(AIRFLOW_PORT) + 713 )))
TRIGGER_LOG_PORT ?= $(shell echo $$(( $(AIRFLOW_PORT) + 714 )))
export AIRFLOW__API__HOST := 127.0.0.1
export AIRFLOW__API__PORT := $(AIRFLOW_PORT)
export AIRFLOW__API__BASE_URL := http://127.0.0.1:$(AIRFLOW_PORT)
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL := http://127.0.0.1:$(AIRFLOW_PORT)/execution/
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT := $(WORKER_LOG_PORT)
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT := $(TRIGGER_LOG_PORT)
# The local campaign registry: include/campaigns.yaml when you have one, else the sandbox's own
# ($(SANDBOX_DIR)/campaigns.yaml, .sandbox/ by default, git-ignored, written by `make airflow-home`; `make sandbox-campaigns` adds
# client campaigns to it while Airflow runs). Tests set their own.
SANDBOX_DIR ?= $(CURDIR)/.sandbox
export CLOSRADS_SANDBOX_DIR := $(SANDBOX_DIR)
LOCAL_REGISTRY := $(if $(wildcard $(CURDIR)/include/campaigns.yaml),$(CURDIR)/include/campaigns.yaml,$(SANDBOX_DIR)/campaigns.yaml)
export CLOSRADS_CAMPAIGNS_FILE ?= $(LOCAL_REGISTRY)
# Fault detection as in docker-compose.yaml (docs/design.md, "Infrastructure failures"): a task whose
# process died is found after 2 minutes, a running task rides out an API server away for about 90 s.
export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT := 120
export AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL := 10
export AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS := 6
export AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT := 180
export AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL := 30
# One update_adset per ACTIVE ad set, as in docker-compose.yaml (Airflow's default is 1024).
export AIRFLOW__CORE__MAX_MAP_LENGTH := 4096
# Task start-up (docs/design.md, "Task start-up"): the LocalExecutor's workers come from a forkserver
# that has imported what a CLOSRADS task needs, so each task process inherits it instead of importing it.
export AIRFLOW__SCHEDULER__MP_START_METHOD := forkserver
export AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD := airflow.executors.local_executor,closrads.airflow.preload
export PATH := $(BIN):$(PATH)
SANDBOX_PORT ?= 8765
export SANDBOX_PORT

.PHONY: help install airflow-home demo overview bench bench-campaigns bench-parse bench-map airflow airflow-stop check-local-airflow sandbox sandbox-stop sandbox-reset sandbox-campaigns test test-unit test-deployment lint format lock region-keys clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The locked dependencies, then the closrads package itself (editable: include/closrads is live code).
# Compiled to bytecode at install, as pip does and uv does not by default: every Airflow task is a new
# process that imports Airflow, the SDKs and closrads, and where PYTHONDONTWRITEBYTECODE is set (this
# machine kind sets it) nothing would ever be cached, so each task would compile them from source again.
$(VENV)/.installed: requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --require-hashes --python $(BIN)/python -r requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 include dags
	touch $@

install: $(VENV)/.installed  ## create .venv, install the locked dependencies and the closrads package

$(AIRFLOW_HOME)/.ready: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }
	touch $@

# env.sh is rewritten every time, so it always matches this invocation's AIRFLOW_PORT; it holds every
# AIRFLOW__ setting exported here, so an `airflow` command in your shell sees what `make airflow` runs with.
airflow-home: $(AIRFLOW_HOME)/.ready  ## prepare .airflow/ (config via env, SQLite DB migrated, env.sh for your shell)
	@test -f "$(CLOSRADS_CAMPAIGNS_FILE)" || $(BIN)/python -m sandbox registry "$(CLOSRADS_CAMPAIGNS_FILE)" --port $(SANDBOX_PORT) >/dev/null
	@{ echo "# source this file to use the airflow CLI against the local Airflow home"; \
	  for v in AIRFLOW_HOME CLOSRADS_CAMPAIGNS_FILE $$(compgen -e | grep '^AIRFLOW__' | sort); do \
	    echo "export $$v='$${!v}'"; done; echo "export PATH='$(BIN):'\"\$$PATH\""; } > $(AIRFLOW_HOME)/env.sh

# (Not $(or ...) for the defaults: make splits its arguments at the commas.)
BENCH_SIZES ?= 6,60,300
BENCH_MODES ?= plain,dags-test,scheduler,airflow-floor,airflow-mechanisms
bench: install  ## what a live sync costs per ad set: plain loop, dags test, scheduler, Airflow's floor and mechanisms (BENCH_SIZES=, BENCH_MODES=)
	$(BIN)/python -m scripts.bench --sizes $(BENCH_SIZES) --modes $(BENCH_MODES)

overview: airflow-home  ## every campaign's last run (mode, state, result) from the local Airflow's REST API
	$(BIN)/python -m scripts.overview

BENCH_CAMPAIGNS ?= 30
BENCH_CAMPAIGN_SIZE ?= 10
bench-campaigns: install  ## many campaigns: 30 x 10 ad sets triggered together, beside one campaign; DAG folder parse time
	$(BIN)/python -m scripts.bench --sizes $(BENCH_CAMPAIGN_SIZE),$$(( $(BENCH_CAMPAIGNS) * $(BENCH_CAMPAIGN_SIZE) )) \
	  --modes plain,scheduler,campaigns --campaigns $(BENCH_CAMPAIGNS) --campaign-size $(BENCH_CAMPAIGN_SIZE)
	$(BIN)/python -m scripts.bench_dag_parse --campaigns $(BENCH_CAMPAIGNS)

bench-parse: install  ## what parsing each DAG file costs beyond Airflow (a trivial DAG of the same shape), byte-compiled and from source
	CLOSRADS_CAMPAIGNS_FILE=none $(BIN)/python -m scripts.bench_dag_parse

bench-map: install  ## how long the operator's map of a real 300-ad-set run takes to serve (BENCH_MAP_SIZE=)
	$(BIN)/python -m scripts.bench_map $(or $(BENCH_MAP_SIZE),300)

demo: airflow-home  ## one live sync of closrads_sync against the sandbox, with before/after targeting
	$(BIN)/python -m scripts.demo --port $(SANDBOX_PORT)

# One process (no shell in between), so Ctrl-C and a SIGTERM to make reach it and it stops everything.
airflow: airflow-home  ## a local Airflow (what airflow standalone runs, on 127.0.0.1 only) wired to the sandbox; UI on :8080 (AIRFLOW_PORT=... moves it)
	echo $(AIRFLOW_PORT) > $(AIRFLOW_HOME)/port
	$(BIN)/python -m scripts.local_airflow start

CAMPAIGNS ?= 2
sandbox-campaigns: airflow-home  ## add CAMPAIGNS=N client campaigns to the sandbox and to the running local Airflow (registry, Connections; no restart)
	$(BIN)/python -m sandbox campaigns $(CAMPAIGNS) --port $(SANDBOX_PORT)
	$(BIN)/python -m sandbox registry $(SANDBOX_DIR)/campaigns.yaml --port $(SANDBOX_PORT)
	$(BIN)/python -m sandbox connections $(AIRFLOW_HOME)/sandbox-connections.json --port $(SANDBOX_PORT)
	$(BIN)/airflow connections import --overwrite $(AIRFLOW_HOME)/sandbox-connections.json
	@echo "the DAGs closrads_sync__client_01 ... appear within a minute (the DAG processor's next parse);" \
	  "their Graph pools are created when their first run starts"
	@test "$(CLOSRADS_CAMPAIGNS_FILE)" = "$(SANDBOX_DIR)/campaigns.yaml" || \
	  echo "note: this Airflow reads $(CLOSRADS_CAMPAIGNS_FILE), not the sandbox's registry: add the entries there"

airflow-stop:  ## stop everything `make airflow` started (also what Ctrl-C does)
	$(BIN)/python -m scripts.local_airflow stop
	$(BIN)/python -m sandbox stop

check-local-airflow: airflow-home  ## scripted check: AIRFLOW_PORT=18080 beside a busy 8080, then nothing left after stopping
	$(BIN)/python -m scripts.check_local_airflow

sandbox: install  ## start the sandbox in the background (state kept in .sandbox/)
	$(BIN)/python -m sandbox start --port $(SANDBOX_PORT)

sandbox-stop:  ## stop the background sandbox
	$(BIN)/python -m sandbox stop

sandbox-reset: install  ## restore the sandbox's default scenario
	$(BIN)/python -m sandbox reset --port $(SANDBOX_PORT)

# Two pytest-xdist workers, each with its own throw-away Airflow home and database (tests/conftest.py):
# the Airflow runs are CPU-bound, and this machine kind has 2 cores. By file, so a module's tests share
# its module-scoped fixtures (the deployment test's stack of Airflow processes is started once), in
# collection order, so that long module starts early instead of last (xdist sorts by test count).
test: install  ## the whole test suite (unit, DAG integrity, integration through real Airflow runs)
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=12

test-unit: install  ## only the fast tests of the pure domain (closrads.core)
	$(BIN)/pytest tests/core

test-deployment: install  ## only the multi-process deployment test (PostgreSQL, Redis, Celery)
	$(BIN)/pytest -m deployment

lint: install  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: install  ## re-resolve requirements*.txt into the lock files (pinned with hashes; uv keeps the pins it can)
	$(BIN)/uv pip compile --quiet --universal -p 3.11 --generate-hashes requirements.txt -o requirements.lock
	$(BIN)/uv pip compile --quiet --universal -p 3.11 --generate-hashes requirements-dev.txt -c requirements.lock \
		-o requirements-dev.lock

region-keys: airflow-home  ## compare the shipped fb_region_keys.json with Graph's region search (WRITE=1 to update)
	$(BIN)/python -m scripts.refresh_region_keys $(if $(WRITE),--write)

clean:  ## remove the local Airflow home and sandbox state (keeps .venv)
	-$(BIN)/python -m scripts.local_airflow stop
	-$(BIN)/python -m sandbox stop
	rm -rf $(AIRFLOW_HOME) $(SANDBOX_DIR)
