# batchplane: the two commands a new machine needs are `make demo` and `make test`.
# Both install what they use: the virtualenv and Python packages, Debian packages
# when run as root, and they find the Terraform provider mirror on the machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

# A filesystem mirror of the AWS provider (see README, "Offline providers").
TF_MIRROR := $(shell find /opt -maxdepth 3 -type d -name registry.terraform.io 2>/dev/null | head -n 1 | xargs -r dirname)
export BATCHPLANE_TF_PROVIDER_MIRROR ?= $(TF_MIRROR)
export CHECKPOINT_DISABLE := 1
# Job images build FROM this. No registry is reachable on the machines this project is built on,
# so the default is a Debian base made locally by scripts/base-image.sh; elsewhere set
# BATCHPLANE_BASE_IMAGE=python:3.12-slim (the Dockerfiles' own default) or any Debian-like image.
export BATCHPLANE_BASE_IMAGE ?= batchplane/python-base:bookworm

.PHONY: help install system-packages tools lint test unit integration demo render clean

help:
	@echo "make demo   - install, then bring dev up on the local AWS with its images and run csv-ingest"
	@echo "make test   - install, then lint, type-check and run every test (unit + integration)"
	@echo "make unit   - unit tests only (no terraform or moto needed)"

system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	  command -v git >/dev/null || missing="$$missing git"; \
	  [ -f /etc/ssl/certs/ca-certificates.crt ] || missing="$$missing ca-certificates"; \
	  command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	  command -v dot >/dev/null || missing="$$missing graphviz"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  fi; \
	fi

$(STAMP): pyproject.toml | system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

# Byte-compile the package on every make: with PYTHONDONTWRITEBYTECODE set (as on CI images), Python
# would otherwise compile every batchplane module on every command, ~80 ms of a pre-commit hook.
install: $(STAMP)
	@$(BIN)/python -m compileall -q platform/batchplane

tools: install
	@command -v terraform >/dev/null || { echo "terraform is not on PATH: install Terraform >= 1.5 (see README)"; exit 1; }
	@if [ -z "$$BATCHPLANE_TF_PROVIDER_MIRROR" ]; then \
	  echo "note: no provider mirror found under /opt; terraform will use TF_CLI_CONFIG_FILE or the registry"; \
	else echo "provider mirror: $$BATCHPLANE_TF_PROVIDER_MIRROR"; fi

lint: install
	$(BIN)/ruff check platform tests benchmarks job_images
	$(BIN)/ruff format --check platform tests benchmarks job_images
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit

integration: tools
	scripts/with-docker.sh $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/integration

test: lint tools
	scripts/with-docker.sh $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests

render: install
	$(BIN)/batchplane render

demo: tools
	BIN=$(BIN) scripts/with-docker.sh scripts/demo.sh

clean:
	rm -rf $(VENV) .batchplane .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
