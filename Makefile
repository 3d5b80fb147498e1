# reflexion.incident: `make demo` and `make test` are the two commands (see README.md).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export VENV
MOLECULE_IMAGE ?= reflexion-incident/molecule:bookworm
# The oldest ansible-core meta/runtime.yml's requires_ansible claims (requirements-oldest.txt); .venv has the newest.
VENV_OLDEST ?= .venv-oldest

.PHONY: help setup setup-oldest engine lint sanity unit sanity-oldest unit-oldest integration molecule test test-full demo bench bench-quick docs build clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.stamp ## Create .venv with the pinned requirements

$(VENV)/.stamp: requirements.txt
	@py=$$(scripts/find_python.sh) && $$py -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip >/dev/null
	@$(BIN)/pip install -q -r requirements.txt
	@touch $@

setup-oldest: $(VENV_OLDEST)/.stamp ## Create .venv-oldest: the oldest ansible-core requires_ansible claims

$(VENV_OLDEST)/.stamp: requirements-oldest.txt
	@py=$$(scripts/find_python.sh) && $$py -m venv $(VENV_OLDEST)
	@$(VENV_OLDEST)/bin/pip install -q --upgrade pip >/dev/null
	@$(VENV_OLDEST)/bin/pip install -q -r requirements-oldest.txt
	@touch $@

engine: setup ## Ensure a Docker engine, compose v2, seeded base images and the molecule image
	@scripts/ensure_host_packages.sh
	@scripts/ensure_docker.sh
	@scripts/ensure_compose.sh
	@scripts/seed_images.sh
	@docker image inspect $(MOLECULE_IMAGE) >/dev/null 2>&1 || docker build -q -t $(MOLECULE_IMAGE) molecule/image >/dev/null

lint: setup ## ruff and ansible-lint (production profile)
	ruff check .
	ansible-lint

sanity: setup ## ansible-test sanity in a clean copy of the collection
	scripts/sanity.sh

unit: setup ## Unit tests (pure logic)
	pytest tests/unit

# The sanity tests whose verdict depends on the ansible-core version (its doc schema, module_utils, runtime.yml
# schema, plugin loader); the linters (pylint, pep8, yamllint, shellcheck, ...) run once, on the newest, in
# `make sanity`. `make sanity-oldest SANITY_OLDEST_TESTS=` runs every sanity test on the oldest too.
SANITY_OLDEST_TESTS ?= validate-modules ansible-doc import compile action-plugin-docs runtime-metadata
sanity-oldest: setup-oldest ## sanity on the oldest ansible-core requires_ansible claims (.venv-oldest)
	VENV=$(VENV_OLDEST) scripts/sanity.sh $(foreach t,$(SANITY_OLDEST_TESTS),--test $(t))

unit-oldest: setup-oldest ## Unit tests on the oldest ansible-core requires_ansible claims (.venv-oldest)
	$(CURDIR)/$(VENV_OLDEST)/bin/pytest -p no:cacheprovider tests/unit

integration: engine ## Integration tests against real services
	pytest tests/integration

molecule: engine ## Every molecule scenario
	scripts/molecule_all.sh

test: ## What CI runs: setup, engine, lint, sanity, unit, integration, molecule (docs/ci.md)
	@scripts/test.sh

test-full: ## test plus the lab's fault-injection tests and sanity on the oldest ansible-core (docs/ci.md)
	@TEST_TIER=full scripts/test.sh

bench: engine ## Run every benchmark (ours vs the reference, same run) and rewrite docs/benchmarks.md
	$(BIN)/python bench/run.py

bench-quick: setup ## Every benchmark once on tiny inputs (CI's check that none rots), into tests/output/bench-quick
	$(BIN)/python bench/run.py --quick

docs: setup ## Build the docs site offline (docs/_build/html)
	@scripts/build_docs.sh

build: setup ## Build the collection tarball
	ansible-galaxy collection build --force

demo: engine ## Bring the lab up, inject high_error_rate, triage it, print the report path
	@scripts/demo.sh

clean: ## Remove the venvs and build outputs
	rm -rf $(VENV) $(VENV_OLDEST) tests/output *.tar.gz
