"""Fixtures every test kind may use: one real PostgreSQL server per run.

Tiers: unit, component, e2e (Mailman core) and web (the Postorius page).

``postgres`` is a started ``PostgresServer`` (Debian's PostgreSQL, installed
by the test run when missing, on 127.0.0.1); ``postgres_url`` is a fresh,
empty database on it for one test.  Outside CI, a machine that has no
PostgreSQL and cannot install it (not root, no apt-get) skips those tests;
in CI (CI set) that is a failure.

``--mailman-database=postgresql`` runs the component tests' Mailman
ConfigLayer on that server instead of SQLite (tests/component/conftest.py).

``--mailman-install=debian`` makes the end-to-end ``world`` Debian 12's
packaged Mailman with the plugin installed into Debian's Python
(tests/debian, ``make test-debian``); the default is the test venv's.
"""

import importlib.util
import itertools
import os

import pytest

from tests.harness.instance import INSTALLS
from tests.harness.postgres import (
    PostgresServer, PostgresUnavailable, unavailable_is_fatal)

_databases = itertools.count(1)

# The Postorius page's tests need the `web` extra (Django, Postorius,
# pytest-django); `make test` installs it.  Without it they are not collected
# and the header says so.
_WEB_READY = all(importlib.util.find_spec(name) for name in (
    'django', 'postorius', 'pytest_django'))
collect_ignore = [] if _WEB_READY else ['web']


def pytest_report_header(config):
    if not _WEB_READY:
        return ('tests/web not collected: the `web` extra is not installed '
                "(pip install -c constraints.txt -e '.[test,web]')")
    return None


def pytest_addoption(parser):
    parser.addoption(
        '--mailman-database', choices=('sqlite', 'postgresql'),
        default=os.environ.get('ANTIBACKSCATTER_TEST_DATABASE', 'sqlite'),
        help='database under the component tests\' Mailman ConfigLayer '
             '(default: $ANTIBACKSCATTER_TEST_DATABASE or sqlite)')
    parser.addoption(
        '--mailman-install', choices=sorted(INSTALLS), default='venv',
        help='which Mailman the end-to-end tests start: the test venv\'s '
             '(default) or Debian\'s mailman3 package (tests/debian)')


@pytest.fixture(scope='session')
def postgres():
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as error:
        if unavailable_is_fatal():
            pytest.fail(str(error))
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres):
    name = 'test_{}_{}'.format(os.getpid(), next(_databases))
    url = postgres.create_database(name)
    try:
        yield url
    finally:
        postgres.drop_database(name)
