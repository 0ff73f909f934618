"""Draw the page as a list owner in Debian 12's Postorius; print the result.

Run by tests/debian/test_postorius.py with Debian's /usr/bin/python3 -I
(Debian's Django and Postorius, the plugin from /usr/local), against the
Debian Mailman whose REST URL and credentials come as arguments.  Prints
one JSON object: the GET and POST status codes and the page's text.
"""

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

rest_url, rest_user, rest_pass, list_id = sys.argv[1:5]
database = Path(tempfile.mkdtemp(prefix='postorius-site-')) / 'db.sqlite3'
settings.configure(
    SECRET_KEY='antibackscatter-debian-postorius', SITE_ID=1,
    ALLOWED_HOSTS=['testserver'], USE_TZ=True,
    INSTALLED_APPS=[
        'django.contrib.admin', 'django.contrib.auth',
        'django.contrib.contenttypes', 'django.contrib.sessions',
        'django.contrib.sites', 'django.contrib.messages',
        'django.contrib.staticfiles', 'django.contrib.humanize',
        'postorius', 'django_mailman3', 'django_gravatar', 'allauth',
        'allauth.account', 'allauth.socialaccount',
        'mailman_antibackscatter.web'],
    MIDDLEWARE=[
        'django.contrib.sessions.middleware.SessionMiddleware',
        'django.middleware.common.CommonMiddleware',
        'django.middleware.csrf.CsrfViewMiddleware',
        'django.contrib.auth.middleware.AuthenticationMiddleware',
        'django.contrib.messages.middleware.MessageMiddleware',
        'django_mailman3.middleware.TimezoneMiddleware',
        'postorius.middleware.PostoriusMiddleware'],
    DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3',
                           'NAME': str(database)}},
    ROOT_URLCONF='tests.debian.postorius_site.urls',
    MAILMAN_REST_API_URL=rest_url, MAILMAN_REST_API_USER=rest_user,
    MAILMAN_REST_API_PASS=rest_pass,
    AUTHENTICATION_BACKENDS=[
        'django.contrib.auth.backends.ModelBackend',
        'allauth.account.auth_backends.AuthenticationBackend'],
    TEMPLATES=[{
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        'APP_DIRS': True, 'OPTIONS': {'context_processors': [
            'django.template.context_processors.request',
            'django.contrib.auth.context_processors.auth',
            'django.contrib.messages.context_processors.messages',
            'django_mailman3.context_processors.common',
            'postorius.context_processors.postorius']}}],
    STATIC_URL='/static/', LOGIN_URL='account_login',
    LOGOUT_URL='account_logout')
django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

import postorius  # noqa: E402

call_command('migrate', verbosity=0)
owner = get_user_model().objects.create_user(
    'owner', email='owner@example.org', password='unused')
EmailAddress.objects.create(user=owner, email='owner@example.org',
                            verified=True, primary=True)
client = Client()
client.force_login(owner)
url = reverse('antibackscatter_list', kwargs={'list_id': list_id})
page = client.get(url)
saved = client.post(url, {'answer': 'all'})
shutil.rmtree(database.parent)
print(json.dumps({
    'django': django.get_version(), 'postorius': postorius.__version__,
    'get': page.status_code, 'post': saved.status_code,
    'text': re.sub(r'\s+', ' ', re.sub(r'<[^>]+>', ' ',
                                        page.content.decode()))}))
