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

.PHONY: help install system-packages tools lint test unit integration demo render clean

help:
	@echo "make demo   - install, validate and render the example, then bring dev up on the local AWS"
	@echo "make test   - install, then lint, type-check and run every test (unit + integration)"
	@echo "make unit   - unit tests only (no terraform or moto needed)"

system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	  command -v git >/dev/null || missing="$$missing git"; \
	  [ -f /etc/ssl/certs/ca-certificates.crt ] || missing="$$missing ca-certificates"; \
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

install: $(STAMP)

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
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/integration

test: lint tools
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests

render: install
	$(BIN)/batchplane render

demo: tools
	$(BIN)/batchplane validate
	$(BIN)/batchplane render
	@echo
	@echo "Rendered Terraform roots (environments/<root>/):"
	@for root in environments/*/; do \
	  printf '  %-24s %s\n' "$$root" "$$(ls $$root | tr '\n' ' ')"; done
	@echo
	@echo "Bringing dev up on the embedded local AWS (moto server on 127.0.0.1):"
	@started=$$($(BIN)/batchplane local status --json | grep -q '"running": true' && echo no || echo yes); \
	$(BIN)/batchplane local start || exit $$?; \
	status=0; \
	$(BIN)/batchplane plan --env dev --local && \
	$(BIN)/batchplane apply --env dev --local && \
	$(BIN)/batchplane output --env dev --local && \
	$(BIN)/batchplane drift --env dev --local || status=$$?; \
	if [ "$$started" = yes ]; then $(BIN)/batchplane local stop; fi; \
	exit $$status

clean:
	rm -rf $(VENV) .batchplane .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
