"""Web tier: the Postorius page against a real Mailman core with the plugin.

A session fixture starts one Mailman (with the plugin, its DNS server and
SMTP sink: tests.harness.scenario.World) and points the
Django test site's MAILMAN_REST_API_* settings at it.  Nothing on the Mailman
side is mocked.
"""

import os

import pytest

django = pytest.importorskip(
    'django', reason="the web distribution is not installed (make venv "
    "builds and installs it: distributions/build.py --wheel web)")

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.web.settings')
django.setup()

from django.conf import settings  # noqa: E402

from tests.harness.scenario import (  # noqa: E402
    SPAMMER, World, list_address)

LIST = list_address('club')
LIST_ID = LIST.replace('@', '.', 1)
OWNER = 'owner@example.org'
MEMBER = 'member@example.org'
PASSWORD = 'correct horse battery staple'


@pytest.fixture(scope='session')
def core(tmp_path_factory):
    """A real Mailman with the plugin; one list with an owner and a member."""
    world = World(tmp_path_factory.mktemp('web-core'))
    world.start()
    try:
        mm = world.mailman
        mm.create_list(LIST)
        mm.add_member(LIST, OWNER, role='owner')
        mm.add_member(LIST, MEMBER)
        saved = (settings.MAILMAN_REST_API_URL, settings.MAILMAN_REST_API_USER,
                 settings.MAILMAN_REST_API_PASS)
        settings.MAILMAN_REST_API_URL = mm.rest_url.rsplit('/3.1/', 1)[0]
        settings.MAILMAN_REST_API_USER = mm.admin_user
        settings.MAILMAN_REST_API_PASS = mm.admin_pass
        try:
            yield world
        finally:
            (settings.MAILMAN_REST_API_URL, settings.MAILMAN_REST_API_USER,
             settings.MAILMAN_REST_API_PASS) = saved
    finally:
        world.stop()


@pytest.fixture(scope='session')
def forged_post(core):
    """A post forged in victim.example's name: held, its notice suppressed;
    and a bounce of spam that forged the list's address: dropped."""
    message_id = core.send(sender='ceo@victim.example', to=LIST,
                           client=SPAMMER, subject='Forged invoice')
    bounces = LIST.replace('@', '-bounces@', 1)
    core.deliver_report(
        core.dsn(to=bounces, failed='someone@victim.example',
                 original='From: {}\nSubject: cheap pills\n'
                          'Message-ID: <spam-1@spammer.example>\n'.format(
                              LIST)),
        rcpt_to=bounces, client=SPAMMER)
    core.mailman.wait_idle()
    return message_id


def plugin_rest(core, method='GET', suffix='', **kwargs):
    """The plugin's REST resource for LIST, straight from Mailman."""
    return core.mailman.rest(
        method, 'plugins/antibackscatter/lists/{}{}'.format(LIST_ID, suffix),
        **kwargs)


@pytest.fixture
def users(db):
    """Django users: list owner, member, site admin (verified emails)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    User = get_user_model()
    made = {}
    for name, email, admin in (('owner', OWNER, False),
                               ('member', MEMBER, False),
                               ('admin', 'admin@example.net', True)):
        user = User.objects.create_user(
            name, email=email, password=PASSWORD, is_superuser=admin,
            is_staff=admin)
        EmailAddress.objects.create(user=user, email=email, verified=True,
                                    primary=True)
        made[name] = user
    return made


@pytest.fixture
def reset_overrides(core):
    """Every test starts (and ends) with the site defaults on LIST."""
    plugin_rest(core, 'DELETE')
    yield
    plugin_rest(core, 'DELETE')
