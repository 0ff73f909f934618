# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Two installs into one venv: `make demo` needs only the plugin and the
# test harness's few extras ('.[demo]'); everything else needs '.[test]'
# (which contains the demo's) and the requirements of the Postorius page's
# own distribution (mailman-antibackscatter-web): the page itself is tested
# from this checkout, its wheel in venvs of its own (tests/web).  Each has
# its stamp; the test install makes both current.
DEMO_STAMP := $(VENV)/.installed-demo
STAMP      := $(VENV)/.installed-test

.PHONY: demo test lint test-unit test-component test-component-postgresql \
        test-e2e test-web fuzz postgresql system-deps bench bench-quick venv clean

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(DEMO_STAMP): setup.cfg pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q -c constraints.txt -e '.[demo]'
	touch $(DEMO_STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt \
          distributions/web/pyproject.toml | $(PY)
	$(PY) -m pip install -q -c constraints.txt -e '.[demo,test]'
	$(PY) -m pip uninstall -q -y mailman-antibackscatter-web
	$(PY) -m pip install -q -c constraints.txt \
		$$($(PY) distributions/build.py --requirements web)
	touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m demo

# The component tests run twice: on SQLite (with everything else) and with
# Mailman's database on PostgreSQL, as sites run it.
test: $(STAMP) lint postgresql system-deps
	$(PY) -m pytest tests
	$(PY) -m pytest tests/component --mailman-database=postgresql

# Mailman's own style limits: 79 columns in the package; pyflakes everywhere.
lint: $(STAMP)
	$(PY) -m flake8 --max-line-length 79 \
		--select E501,F,W291,W292,W293,W391 mailman_antibackscatter
	$(PY) -m flake8 --select F tests bench demo

# Debian's PostgreSQL server for the tests (apt-get when missing and root).
postgresql: $(STAMP)
	$(PY) -m tests.harness.postgres --install-only

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-component: $(STAMP)
	$(PY) -m pytest tests/component

test-component-postgresql: $(STAMP) postgresql
	$(PY) -m pytest tests/component --mailman-database=postgresql

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

# The unit, component and end-to-end tiers against each older supported
# Mailman (3.3.8, 3.3.9), each in its own venv (.venv-mailman-3.3.X) with
# its constraint set in constraints/; `make test` covers 3.3.10.
.PHONY: test-matrix
test-matrix: $(STAMP)
	$(PY) -m tests.matrix

# The fuzz tier for as long as asked (make test runs it for a fixed number
# of examples): prints inputs per second per property and every finding.
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(PY) -m tests.fuzz $(FUZZ_SECONDS)

# Debian 12's mailman3 package, with the plugin's wheel installed into
# Debian's Python (tests/debian/install.sh: apt-get, so only as root on
# Debian 12), then the end-to-end answer paths and bounce gate against it.
.PHONY: test-debian
DEBIAN_TESTS := tests/debian tests/e2e/test_mailman_install.py \
                tests/e2e/test_paths.py tests/e2e/test_bounces.py
test-debian: $(STAMP)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	    && grep -qx 'VERSION_ID="12"' /etc/os-release; then \
		sh tests/debian/install.sh . && \
		$(PY) -m pytest --mailman-install=debian $(DEBIAN_TESTS); \
	else \
		echo 'test-debian: skipped: installing Debian'"'"'s mailman3' \
		     'needs root, apt-get and Debian 12 (see docs/install.md)'; \
	fi

test-web: $(STAMP) system-deps
	$(PY) -m pytest tests/web

# The page's wheel installed into a mailman-web 0.0.9 site (Django 4.2) and a
# Postorius 1.3.13 site (Django 5.0), each a venv of its own built from
# constraints/web-*.txt once and kept as .venv-web-* (`make test` runs it).
.PHONY: test-web-install dist
test-web-install: $(STAMP)
	$(PY) -m pytest tests/web/test_install_mailman_web.py

# sdist and wheel of both distributions in dist/: mailman-antibackscatter
# (Mailman core's plugin) and mailman-antibackscatter-web (the Postorius page).
# Needs only `build` in the venv: each is built in an isolated environment.
dist: | $(PY)
	$(PY) -m pip install -q -c constraints.txt build
	rm -rf dist
	$(PY) distributions/build.py --outdir dist

# Servers and browsers the tests start themselves, from Debian's packages.
# Installed only when missing and only as root with apt-get (CI); otherwise
# the tests that need them are skipped and say why.
system-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo 'system-deps: installing Debian chromium for the browser test'; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends chromium; \
	else \
		echo 'system-deps: /usr/bin/chromium missing and not root with apt-get:' \
		     'the browser test will be skipped (apt-get install chromium)'; \
	fi

bench: $(STAMP)
	$(PY) bench/auth.py
	$(PY) bench/bounces.py
	$(PY) bench/e2e.py

bench-quick: $(STAMP)
	$(PY) bench/auth.py --quick
	$(PY) bench/bounces.py --quick
	$(PY) bench/e2e.py --quick

clean:
	rm -rf $(VENV) .venv-mailman-* .venv-web-* .venv-core-* dist *.egg-info
