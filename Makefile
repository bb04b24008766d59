# WhatsApp SCRM streaming pipeline. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KAFKA := $(PYTHON) deploy/local/kafka.py
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup prereqs kafka-fetch kafka-start kafka-stop kafka-status demo demo-stop test test-unit test-reliability lint typecheck bench docs clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

prereqs: ## Install Java 17 and Maven from Debian packages if missing (needs root)
	@bash deploy/local/prereqs.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: prereqs $(STAMP) kafka-fetch ## Virtualenv, Python packages, Kafka jars (once)

kafka-fetch: prereqs ## Fetch the Kafka broker jars from Maven Central (cached)
	@$(KAFKA) fetch

kafka-start: prereqs ## Start the local Kafka broker (reused when already up)
	@$(KAFKA) start

kafka-stop: ## Stop the local Kafka broker
	@$(KAFKA) stop

kafka-status: ## Is the local Kafka broker up?
	@$(KAFKA) status

demo: setup ## Run the main job: broker, worker, embedded ClickHouse, sample traffic, a report
	@bash deploy/local/demo.sh

demo-stop: ## Stop the demo worker and the local broker
	@bash deploy/local/demo.sh stop

test: setup ## Run the test suite (unit, real Kafka, embedded ClickHouse, end to end)
	$(BIN)/pytest

test-unit: $(STAMP) ## Only the fast tests that need no infrastructure
	$(BIN)/pytest -m unit

test-reliability: setup ## Only the fault suite (about 10 minutes; part of make test)
	$(BIN)/pytest -m reliability -s

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

docs: $(STAMP) ## Regenerate the table reference in docs/analytics.md from the migrations
	$(BIN)/python -m sinks.clickhouse.reference

$(VENV)/.bench-installed: pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

bench: setup $(VENV)/.bench-installed ## Benchmarks, the end-to-end one included (about 40 minutes; see bench/RESULTS.md)
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and local state (var/)
	-$(KAFKA) stop
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
