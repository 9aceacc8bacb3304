# newswire: the two commands are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK := deploy/local/stack.sh

.PHONY: install stack-start stack-stop stack-status workers-start workers-stop demo test test-cluster unit clean-var

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

stack-start: install
	$(STACK) start

stack-stop:
	$(STACK) stop

stack-status:
	$(STACK) status

workers-start: install
	scripts/workers.sh start

workers-stop:
	scripts/workers.sh stop

# Installs what is missing, starts Kafka, Elasticsearch, Prometheus and the workers, ingests the sample pages
# (and ../shared/examples when present), waits until they are searchable and shows what was indexed.
demo: stack-start workers-start
	$(PY) scripts/demo.py

# The whole suite: unit tests and the end-to-end tests against the real local stack (started if needed).
test: stack-start
	$(PY) -m pytest -q -p no:cacheprovider

# The fault tests and the 1 -> 3 -> 1 scaling test on the local cluster mode (three brokers, two engine nodes),
# started if needed: about 25 minutes on two cores.
test-cluster: install
	$(PY) -m pytest -q -p no:cacheprovider -s -m cluster tests/integration/test_cluster.py tests/integration/test_scaling.py

# Only the tests that need no servers.
unit: install
	$(PY) -m pytest -q -m "not stack"
