"""One real Mailman with the plugin, a DNS server and an SMTP sink per run.

``world`` keeps Mailman's data in SQLite; ``pg_world`` is the same set-up with
Mailman's database on the run's PostgreSQL server (tests/conftest.py), for
tests that must hold on both back ends.  Both run the Mailman that
``--mailman-install`` names (the test venv's unless told otherwise).
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.harness.instance import INSTALLS
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
def mailman_install(request):
    """The MailmanInstall the worlds run (``--mailman-install``)."""
    return INSTALLS[request.config.getoption('--mailman-install')]


@pytest.fixture(scope='session')
def world_directory(tmp_path_factory, mailman_install):
    """Makes directories for worlds that the install's user can enter.

    pytest's own are private to the user running the tests; a Mailman
    run as another user (Debian's as ``list``) gets one of its own.
    """
    made = []

    def make(name):
        if mailman_install.user is None:
            return tmp_path_factory.mktemp(name)
        path = Path(tempfile.mkdtemp(prefix='antibackscatter-{}-{}-'.format(
            mailman_install.name, name)))
        os.chmod(path, 0o755)
        made.append(path)
        return path
    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='session')
def world(world_directory, mailman_install):
    yield from _running_world(world_directory('world'),
                              install=mailman_install)


@pytest.fixture(scope='session')
def pg_world(postgres, world_directory, mailman_install):
    # The same options as `world`, only the database differs.
    yield from _running_world(
        world_directory('pg-world'),
        database_url=postgres.create_database('e2e_world'),
        install=mailman_install)


@pytest.fixture(params=['sqlite', pytest.param(
    'postgresql', marks=pytest.mark.postgresql)])
def any_world(request):
    """``world`` and then ``pg_world``: for tests of the plugin's tables."""
    return request.getfixturevalue(
        'world' if request.param == 'sqlite' else 'pg_world')
