# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-unit test-component test-component-postgresql test-e2e \
        postgresql bench bench-quick venv clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m mailman_antibackscatter.demo

# The component tests run twice: on SQLite (with everything else) and with
# Mailman's database on PostgreSQL, as sites run it.
test: $(STAMP) postgresql
	$(PY) -m pytest tests
	$(PY) -m pytest tests/component --mailman-database=postgresql

# Debian's PostgreSQL server for the tests (apt-get when missing and root).
postgresql: $(STAMP)
	$(PY) -m mailman_antibackscatter.testing.postgres --install-only

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-component: $(STAMP)
	$(PY) -m pytest tests/component

test-component-postgresql: $(STAMP) postgresql
	$(PY) -m pytest tests/component --mailman-database=postgresql

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

bench: $(STAMP)
	$(PY) bench/auth.py

bench-quick: $(STAMP)
	$(PY) bench/auth.py --quick

clean:
	rm -rf $(VENV) *.egg-info
