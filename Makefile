# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# What two checkouts on one machine must not share, one setting each (include/lumina_integration/environment.py):
# the state folder, the DuckDB file, the S3 and Salesforce sandboxes' ports (hence every connection to them).
LUMINA_STATE_DIR ?= .lumina
export LUMINA_STATE_DIR := $(abspath $(LUMINA_STATE_DIR))
STATE := $(LUMINA_STATE_DIR)
export LUMINA_DUCKDB_PATH ?= $(STATE)/warehouse.duckdb
export LUMINA_S3_PORT ?= 9555
export LUMINA_SALESFORCE_PORT ?= 9556
export LUMINA_SERVICENOW_PORT ?= 9557
export LUMINA_JIRA_PORT ?= 9558
UI_PORT ?= 8080
# The state folder holds the Airflow DB (connections), the DuckDB warehouse, the SAP sample and the sandboxes'
# credentials: every recipe that writes there runs under this umask (folders 0700, files 0600).
PRIVATE := umask 077 &&

# One Airflow home for the demo and the UI (SQLite metadata + LocalExecutor; 2 cores -> 4 slots).
export AIRFLOW_HOME := $(STATE)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__LOGGING__NAMESPACE_LEVELS := great_expectations=WARNING
export GX_ANALYTICS_ENABLED := False
# Arrow's jemalloc pool hands freed memory back sooner than its default mimalloc: 10-20% lower peak RSS
# per task at the same speed (bench/README.md). The Dockerfile sets the same.
export ARROW_DEFAULT_MEMORY_POOL ?= jemalloc
# The S3 sandbox accepts any key; real deployments take credentials from the aws connection.
export AWS_ACCESS_KEY_ID := sandbox
export AWS_SECRET_ACCESS_KEY := sandbox
export AWS_DEFAULT_REGION := us-east-1
# airflow standalone starts its components as `airflow ...` subprocesses: they must find ours.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test ui ui-shell settings lint-specs schema docs docs-serve lock stop clean bench bench-incremental bench-reconcile bench-pii bench-erasure bench-retention faults soak

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(AIRFLOW_HOME)/airflow.db: $(BIN)/.installed
	$(PRIVATE) mkdir -p $(AIRFLOW_HOME)
	$(PRIVATE) $(BIN)/airflow db migrate > $(STATE)/airflow-migrate.log 2>&1 || (cat $(STATE)/airflow-migrate.log; exit 1)

settings: $(AIRFLOW_HOME)/airflow.db
	$(PRIVATE) $(BIN)/lumina settings-import
	@# The same environment for commands typed by hand (`make ui-shell` or `source .lumina/env`).
	@$(PRIVATE) { for v in AIRFLOW_HOME AIRFLOW__CORE__DAGS_FOLDER AIRFLOW__CORE__PLUGINS_FOLDER AIRFLOW__CORE__LOAD_EXAMPLES \
	    AIRFLOW__CORE__EXECUTOR AIRFLOW__CORE__PARALLELISM ARROW_DEFAULT_MEMORY_POOL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION \
	    LUMINA_STATE_DIR LUMINA_DUCKDB_PATH LUMINA_S3_PORT LUMINA_SALESFORCE_PORT LUMINA_SERVICENOW_PORT LUMINA_JIRA_PORT; do \
	    echo "export $$v='$${!v}'"; done; echo 'export PATH="$(CURDIR)/$(BIN):$$PATH"'; } > $(STATE)/env

demo: settings
	$(PRIVATE) AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING $(BIN)/python -m lumina_sandbox.demo

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# The fault matrix and the randomized change-capture test at CI's quick setting (also part of `make test`).
faults: $(BIN)/.installed
	$(BIN)/pytest -q tests/faults

# The randomized change-capture tests for thousands of steps (Salesforce 40 x 40: 17 min; 100 x 40: over an hour):
# LUMINA_CDC_EXAMPLES sequences of LUMINA_CDC_STEPS steps; a failure prints the shrunk steps and a @reproduce_failure
# blob. SOAK_TESTS picks the sources (default: Salesforce, ServiceNow and Jira, one after the other).
SOAK_TESTS ?= tests/faults/test_change_capture.py tests/faults/test_change_capture_servicenow.py tests/faults/test_change_capture_jira.py
soak: $(BIN)/.installed
	LUMINA_CDC_EXAMPLES=$${LUMINA_CDC_EXAMPLES:-100} LUMINA_CDC_STEPS=$${LUMINA_CDC_STEPS:-40} \
	$(BIN)/pytest -q -p no:logging $(SOAK_TESTS)

# The UI uses the FAB auth manager: roles per domain and users (docs/protection/access.md). Only the UI's
# commands get it: the demo's and the tests' dag.test() runs keep the default auth manager.
FAB_AUTH_MANAGER := airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager
ui ui-shell: export AIRFLOW__CORE__AUTH_MANAGER := $(FAB_AUTH_MANAGER)
ui: settings
	$(PRIVATE) $(BIN)/python -m lumina_sandbox.s3_server start
	$(PRIVATE) $(BIN)/python -m lumina_sandbox.salesforce connect
	@# The FAB tables (users, roles, permissions), if the metadata DB was migrated without them.
	$(PRIVATE) $(BIN)/airflow db migrate >> $(STATE)/airflow-migrate.log 2>&1 || (tail -30 $(STATE)/airflow-migrate.log; exit 1)
	@echo "Airflow UI on http://127.0.0.1:$(UI_PORT); log in as one of (user, role, password):"
	@$(PRIVATE) AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING $(BIN)/python scripts/ui_users.py 2>> $(STATE)/ui-users.log
	$(PRIVATE) AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$(UI_PORT) AIRFLOW__API__BASE_URL=http://127.0.0.1:$(UI_PORT) \
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$(UI_PORT)/execution/ \
	setsid scripts/ui.sh

ui-shell: settings
	@echo "Airflow CLI shell on the project's Airflow home (exit to leave)"
	$(PRIVATE) bash --rcfile $(STATE)/env -i

lint-specs: $(BIN)/.installed
	$(BIN)/lumina lint

schema: $(BIN)/.installed
	$(BIN)/lumina schema

# The documentation site (mkdocs.yml) into $(STATE)/site, strict: a broken link or a page missing from the
# nav fails it (tests/docs/test_docs_site.py runs the same build in `make test`). Offline: nothing is fetched.
docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --site-dir $(STATE)/site
	@echo "Open $(STATE)/site/index.html"

DOCS_PORT ?= 8000
docs-serve: $(BIN)/.installed
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

# 1M and 5M Salesforce Accounts through the whole pipeline vs dlt and the physical limit at each size, then
# the incremental run through a real scheduler vs dlt and the capacity (bench-incremental), every target of
# issue 12 with its verdict (bench/README.md). About 30 min on 2 cores;
# BENCH_ARGS="--sizes 200000 --initial-wait 0 --incremental-args='--accounts 200000'" for a quick look.
bench: $(BIN)/.installed
	$(BIN)/python -m bench.e2e $(BENCH_ARGS)

# 2,000 changed Accounts in a 1M-row table through scheduler + LocalExecutor (parallelism 4) + api-server +
# dag-processor: trigger -> committed watermark vs dlt's incremental merge, where the seconds go, and how many
# such pipelines one 2-core worker runs per hour. About 7 min; BENCH_ARGS="--accounts 200000" for a look.
bench-incremental: $(BIN)/.installed
	$(BIN)/python -m bench.incremental $(BENCH_ARGS)

# The reconcile DAG on 1M Accounts with 1,000 updated below the lookback: seconds, API calls, Bulk jobs,
# records read again, peak RSS. BENCH_ARGS="--accounts 200000" for a quick look.
bench-reconcile: $(BIN)/.installed
	$(BIN)/python -m bench.reconcile $(BENCH_ARGS)

# Transform throughput with the PII policy on vs off at 1M rows: rows/s (CPU and wall), ratio, peak RSS
# (docs/protection/pii.md). About 1 min; BENCH_ARGS="--rows 100000" for a quick look.
bench-pii: $(BIN)/.installed
	$(BIN)/python -m bench.pii_transform $(BENCH_ARGS)

# The erasure of one subject across a 1M-record lake (4 runs x raw, canonical, validated parts of 250k rows and
# the warehouse table): seconds, parts scanned and rewritten, peak RSS. BENCH_ARGS="--records 100000" for a look.
bench-erasure: $(BIN)/.installed
	$(BIN)/python -m bench.erasure $(BENCH_ARGS)

# The retention sweep of a lake of 100k expired objects: seconds, DeleteObjects calls, peak RSS.
bench-retention: $(BIN)/.installed
	$(BIN)/python -m bench.retention $(BENCH_ARGS)

lock: $(BIN)/.installed
	$(BIN)/python scripts/lock.py

stop:
	-$(BIN)/python -m lumina_sandbox.s3_server stop
	-$(BIN)/python -m lumina_sandbox.salesforce stop
	-$(BIN)/python -m lumina_sandbox.servicenow stop
	-$(BIN)/python -m lumina_sandbox.jira stop

clean: stop
	rm -rf $(STATE)
