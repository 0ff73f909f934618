"""The two documented installation steps on a real mailman-web site.

mailman-web 0.0.9 requires Django < 4.3, so it cannot share the test venv
(Django 5.0); this test runs where mailman-web is installed and is skipped
elsewhere.  It starts a separate Python with mailman-web's own settings plus
exactly the lines docs/install.md gives, and checks Django's system checks
and the page's URL.
"""

import importlib.util
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec('mailman_web') is None,
    reason='mailman-web is not installed (it needs Django < 4.3)')


def test_installation_steps_in_a_mailman_web_site(tmp_path):
    (tmp_path / 'site_settings.py').write_text(textwrap.dedent("""\
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
        """).format(db=str(tmp_path / 'db.sqlite3'),
                   log=str(tmp_path / 'mailmanweb.log')))
    script = textwrap.dedent("""\
        import django
        django.setup()
        from django.core.management import call_command
        from django.urls import resolve, reverse
        call_command('check')
        url = reverse('antibackscatter_list',
                      kwargs={'list_id': 'a.example.org'})
        print(url)
        print(resolve(url).func.__name__)
        print(reverse('list_settings', args=['a.example.org']))
        """)
    env = {'DJANGO_SETTINGS_MODULE': 'site_settings',
           'PYTHONPATH': '{}:{}'.format(tmp_path, ':'.join(sys.path)),
           'PATH': '/usr/bin:/bin'}
    result = subprocess.run([sys.executable, '-c', script], env=env,
                            capture_output=True, text=True, timeout=120,
                            cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    ours, view, postorius = result.stdout.split()[-3:]
    assert view == 'list_sender_authentication'
    # Under the same prefix as Postorius' own list pages.
    assert postorius.endswith('/lists/a.example.org/settings/')
    assert ours == postorius.replace('/settings/', '/sender-authentication/')
