"""The page installed as a site installs it: its wheel into the site's venv.

Two sites, each in a venv of its own (tests/harness/webvenv.py): mailman-web
0.0.9, which requires Django < 4.3, and Postorius 1.3.13 on Django 5.0.  Into
each, the wheel of mailman-antibackscatter-web (built as `make dist` builds
it) goes in with a plain `pip install` and no constraints, as a site admin
would install it.  It must add that one distribution and change nothing the
site had: no Mailman core, falcon, gunicorn, aiosmtpd or SQLAlchemy, and
Django stays where the site has it.  Then a Python of that venv starts with
the site's settings plus exactly the lines docs/install.md gives, and checks
Django's system checks, the page's URL and the list menu item.
"""

import json
import textwrap

from pathlib import Path

import pytest

from tests.harness import webvenv
from tests.harness.webvenv import build_wheel, install_wheel, run

WEB = 'mailman-antibackscatter-web'
# What Mailman core's distribution brings and a web venv must not get.
CORE_ONLY = ('mailman', 'mailman-antibackscatter', 'falcon', 'gunicorn',
             'aiosmtpd', 'sqlalchemy', 'alembic', 'dkimpy', 'pyspf')
TEST_SITE = Path(__file__).resolve().parent

MAILMAN_WEB_SETTINGS = """\
from mailman_web.settings.base import *
from mailman_web.settings.mailman import *
DATABASES = {{'default': {{
    'ENGINE': 'django.db.backends.sqlite3',
    'NAME': {db!r}}}}}
LOGGING['handlers']['file']['filename'] = {log!r}
SECRET_KEY = 'a site secret'
# docs/install.md, step 1 and step 2:
INSTALLED_APPS += ['mailman_antibackscatter.web']
ROOT_URLCONF = 'mailman_antibackscatter.web.mailman_web_urls'
"""

CHECK = textwrap.dedent("""\
    import importlib.util
    import json
    import django
    django.setup()
    from django.core.management import call_command
    from django.urls import resolve, reverse
    from postorius.templatetags import nav_helpers
    import mailman_antibackscatter.web
    from mailman_antibackscatter.web.patches import MARK
    call_command('check')
    url = reverse('antibackscatter_list', kwargs={'list_id': 'a.example.org'})
    print(json.dumps({
        'page': url,
        'view': resolve(url).func.__name__,
        'postorius': reverse('list_settings', args=['a.example.org']),
        'menu_item_installed': hasattr(nav_helpers.list_nav, MARK),
        'app_file': mailman_antibackscatter.web.__file__,
        'core_importable': any(
            importlib.util.find_spec(name) is not None for name in
            ('mailman', 'mailman_antibackscatter.patches')),
        'django': django.get_version(),
    }))
    """)


def mailman_web_site(directory):
    """mailman-web's own settings and the two documented lines."""
    (directory / 'site_settings.py').write_text(MAILMAN_WEB_SETTINGS.format(
        db=str(directory / 'db.sqlite3'),
        log=str(directory / 'mailmanweb.log')))


def postorius_site(directory):
    """A Postorius site's settings.py and urls.py (the test site's, whose
    two added lines are the documented ones)."""
    settings = (TEST_SITE / 'settings.py').read_text()
    (directory / 'site_settings.py').write_text(
        settings + "\nROOT_URLCONF = 'site_urls'\n")
    (directory / 'site_urls.py').write_text(
        (TEST_SITE / 'urls.py').read_text())


# Site (webvenv.SITES): the Django it has, how it adds the page.
SITES = {
    'mailman-web-0.0.9': ('4.2.', mailman_web_site),
    'postorius-1.3.13': ('5.0.', postorius_site),
}


@pytest.fixture(scope='module')
def web_wheel(tmp_path_factory):
    return build_wheel('web', tmp_path_factory.mktemp('web-dist'))


@pytest.fixture(scope='module', params=sorted(SITES))
def site(request, web_wheel):
    """(name, venv, what it had, what it has after the wheel went in)."""
    path = webvenv.site_venvs()[request.param]
    before, after = install_wheel(path, web_wheel, WEB)
    return request.param, path, before, after


def test_the_wheel_adds_only_itself(site, web_wheel):
    name, path, before, after = site
    added = {dist: after[dist] for dist in set(after) - set(before)}
    version = web_wheel.name.split('-')[1]
    assert added == {WEB: version}
    changed = {dist: (before[dist], after.get(dist)) for dist in before
               if after.get(dist) != before[dist]}
    assert changed == {}
    assert [dist for dist in CORE_ONLY if dist in after] == []
    assert after['django'].startswith(SITES[name][0])


def test_installation_steps_in_the_site(site, tmp_path):
    name, path, before, after = site
    SITES[name][1](tmp_path)
    env = {'DJANGO_SETTINGS_MODULE': 'site_settings',
           'PYTHONPATH': str(tmp_path), 'PYTHONNOUSERSITE': '1',
           'PATH': '{}:/usr/bin:/bin'.format(path / 'bin')}
    result = run([path / 'bin' / 'python', '-c', CHECK], env=env,
                 cwd=str(tmp_path), timeout=300)
    found = json.loads(result.stdout.splitlines()[-1])
    assert found['view'] == 'list_sender_authentication'
    # Under the same prefix as Postorius' own list pages.
    assert found['postorius'].endswith('/lists/a.example.org/settings/')
    assert found['page'] == found['postorius'].replace(
        '/settings/', '/sender-authentication/')
    assert found['menu_item_installed']
    # The page came from the wheel, and nothing of Mailman core is there.
    assert found['app_file'].startswith(str(path))
    assert not found['core_importable']
    assert found['django'].startswith(SITES[name][0])
