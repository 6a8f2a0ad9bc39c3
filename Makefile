# Cutover developer entry points. The quickstart is two commands: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.cache/collections
export ANSIBLE_DEPRECATION_WARNINGS := False
export ANSIBLE_LOCALHOST_WARNING := False
# Ctrl-C or SIGTERM of a deploy cancels it cleanly (plugins/callback/cancel.py)
export ANSIBLE_CALLBACKS_ENABLED := cutover.deploy.cancel

.PHONY: setup engines collection demo demo-clean status rollback test test-unit test-integration sanity lint docs release bench bench-rollback bench-ab bench-fleet fleet-up fleet-down registry-up registry-down clean

setup:               ## install Debian packages, the virtualenv and the collection
	bash scripts/setup.sh

engines: setup       ## start Docker and Podman (idempotent) and build the demo images
	bash scripts/engines.sh docker podman
	bash scripts/build-images.sh docker podman
	bash scripts/build-proxy-image.sh docker podman

collection:          ## rebuild + reinstall the collection from this tree
	bash scripts/install-collection.sh

demo: setup          ## the main job: a real blue-green deploy on a local engine with its report
	bash scripts/engines.sh docker
	bash scripts/build-images.sh docker
	bash scripts/build-proxy-image.sh docker
	$(PY) bench/demo.py

demo-clean:          ## remove everything the demo started
	$(PY) bench/demo.py --clean

SERVICE ?= demo
# the demo's proxy settings (bench/demo.py PROXY): HAProxy's defaults with the image make demo builds from the host's binary
PLAY_LOCAL := $(VENV)/bin/ansible-playbook -i localhost, -c local -e ansible_python_interpreter=$(CURDIR)/$(PY) \
  -e '{"cutover_proxy": {"type": "haproxy", "listen": "127.0.0.1:8080", "image": "cutover-haproxy:local"}}'

status:              ## the live release and history of a service on this machine (SERVICE=demo)
	$(PLAY_LOCAL) playbooks/status.yml -e cutover_service=$(SERVICE)

rollback:            ## roll a service on this machine back to its previous good release (SERVICE=demo)
	$(PLAY_LOCAL) playbooks/rollback.yml -e cutover_service=$(SERVICE)

test-unit: setup
	$(PY) -m pytest -q tests/unit

test-integration: engines collection
	$(PY) -m pytest -q -p no:cacheprovider tests/integration

# ansible-test sanity on the oldest and the newest ansible-core of the matrix (scripts/matrix.sh)
SANITY_CORES := 2.17 2.21

sanity: collection   ## ansible-test sanity on the oldest and newest supported ansible-core (side by side), and ansible-test units
	@for core in $(SANITY_CORES); do bash scripts/matrix.sh setup $$core >/dev/null || exit 1; done
	@pids=""; for core in $(SANITY_CORES); do \
	  ( SANITY_INSTALLED=1 VENV=.cache/matrix/core-$$core CUTOVER_SANITY_ROOT=/tmp/cutover-sanity-$$core \
	    bash scripts/ansible-test.sh sanity >.cache/sanity-$$core.log 2>&1 ) & pids="$$pids $$!"; \
	done; fail=0; for pid in $$pids; do wait $$pid || fail=1; done; \
	for core in $(SANITY_CORES); do \
	  if grep -qE '^(ERROR|FATAL)' .cache/sanity-$$core.log; then \
	    grep -E '^(ERROR|FATAL)' .cache/sanity-$$core.log; echo "ansible-test sanity failed on ansible-core $$core"; \
	  else echo "ansible-test sanity (ansible-core $$core): passed, tests run: $$(grep -cE '^Running sanity test' .cache/sanity-$$core.log)"; fi; \
	done; exit $$fail
	@# the unit tests as ansible-test runs them, with tests/unit/requirements.txt (main virtualenv's ansible-core)
	@SANITY_INSTALLED=1 bash scripts/ansible-test.sh units >.cache/units.log 2>&1 \
	  && echo "ansible-test units: $$(grep -oE '[0-9]+ passed' .cache/units.log | tail -1)" \
	  || { tail -40 .cache/units.log; echo "ansible-test units failed"; exit 1; }

lint: collection
	$(VENV)/bin/ansible-lint --offline -q roles playbooks docs/awx/project
	$(VENV)/bin/antsibull-changelog lint
	bash scripts/importer.sh

docs: collection     ## the docs site (antsibull-docs, Sphinx) in .cache/docsite/build/html, after the docs lint
	bash scripts/docs.sh

release: collection  ## the tarball to publish (dist/): refused unless galaxy.yml and the released changelog agree, then checked as Galaxy does
	$(PY) scripts/release_check.py
	$(VENV)/bin/antsibull-changelog lint
	bash scripts/importer.sh
	@mkdir -p dist && cp .cache/build/cutover-deploy-*.tar.gz dist/ && echo "release: dist/$$(basename .cache/build/cutover-deploy-*.tar.gz)"

test: engines collection  ## everything CI runs: lint, galaxy-importer, unit, integration (with the version matrix), sanity
	$(VENV)/bin/ansible-lint --offline -q roles playbooks docs/awx/project
	$(VENV)/bin/antsibull-changelog lint
	bash scripts/importer.sh
	$(PY) -m pytest -q -p no:cacheprovider tests/unit
	@# two workers, one test file each at a time (a file's module fixtures, like the fleet, stay on one worker),
	@# the slowest files first (tests/conftest.py); the tests marked exclusive (one restarts dockerd) run after, alone
	$(PY) -m pytest -q -p no:cacheprovider --durations=15 -n 2 --dist loadfile --no-loadscope-reorder \
	  -m 'not exclusive and not unreliable' tests/integration
	$(PY) -m pytest -q -p no:cacheprovider -m 'exclusive and not unreliable' tests/integration
	$(MAKE) --no-print-directory sanity

bench: engines collection  ## the zero-downtime benchmark beside community.docker's redeploy; results under bench/results/
	@[ -d .cache/ansible-pkg/ansible_collections/community/docker ] || \
	  $(VENV)/bin/pip install -q --no-deps --target .cache/ansible-pkg 'ansible>=10,<11'  # community.docker, for the side-by-side
	$(PY) bench/run.py

bench-rollback: engines collection  ## rollback wall time with and without cutover_standby
	$(PY) bench/rollback.py

bench-ab: engines collection  ## a change against the commit before it, in one session: make bench-ab BEFORE=<rev>
	@[ -n "$(BEFORE)" ] || { echo 'make bench-ab BEFORE=<git revision>'; exit 2; }
	$(PY) bench/ab.py --before $(BEFORE)

bench-fleet: engines collection  ## the fleet benchmark (shared load balancer, N = 1, 2, 4 hosts, with Mitogen)
	$(VENV)/bin/pip install -q 'mitogen>=0.3,<0.4'  # optional accelerator, measured, never required
	$(PY) bench/fleet.py --mitogen

fleet-up: engines collection  ## a test fleet (an LB host and three app hosts) for trying fleet deploys by hand
	bash scripts/fleet.sh up docker podman docker

fleet-down:          ## take the test fleet down
	bash scripts/fleet.sh down

clean: demo-clean
	rm -rf .cache

registry-up:         ## a private registry on 127.0.0.1:5443 (TLS + htpasswd) with the demo images, as the tests use
	bash scripts/registry.sh up

registry-down:
	bash scripts/registry.sh down
