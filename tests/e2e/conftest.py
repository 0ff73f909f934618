"""One real Mailman with the plugin, a DNS server and an SMTP sink per run.

``world`` keeps Mailman's data in SQLite; ``pg_world`` is the same set-up with
Mailman's database on the run's PostgreSQL server (tests/conftest.py), for
tests that must hold on both back ends.
"""

import pytest

from tests.harness.scenario import World

# Generous enough for every answer the tests expect; the limit itself is
# tested in tests/component/test_guard.py.
SITE_OPTIONS = '[ratelimit]\nper_recipient: 200\nper_domain: 1000\n'
# Mailman's VERP probes stay off (its default): tests/e2e/test_bounces.py
# shows that the plugin sends a probe at the bounce threshold anyway.
EXTRA_CONFIG = ''


def _running_world(directory, **options):
    """A started World with the tier's options; stopped when done."""
    instance = World(directory, site_options=SITE_OPTIONS,
                     extra_config=EXTRA_CONFIG, **options)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope='session')
def world(tmp_path_factory):
    yield from _running_world(tmp_path_factory.mktemp('world'))


@pytest.fixture(scope='session')
def pg_world(postgres, tmp_path_factory):
    # The same options as `world`, only the database differs.
    yield from _running_world(
        tmp_path_factory.mktemp('pg-world'),
        database_url=postgres.create_database('e2e_world'))


@pytest.fixture(params=['sqlite', pytest.param(
    'postgresql', marks=pytest.mark.postgresql)])
def any_world(request):
    """``world`` and then ``pg_world``: for tests of the plugin's tables."""
    return request.getfixturevalue(
        'world' if request.param == 'sqlite' else 'pg_world')
