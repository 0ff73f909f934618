"""Django settings of the test site: Postorius + django-mailman3 + our app.

Laid out like a mailman-web site; the Mailman REST URL and credentials are
filled in by the session fixture that starts the real Mailman core.
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = 'antibackscatter-test-site'
DEBUG = False
ALLOWED_HOSTS = ['localhost', '127.0.0.1', 'testserver']
SITE_ID = 1

MAILMAN_REST_API_URL = 'http://127.0.0.1:1'      # set by the fixture
MAILMAN_REST_API_USER = 'restadmin'
MAILMAN_REST_API_PASS = 'unset'

INSTALLED_APPS = [
    'django.contrib.admin',
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'django.contrib.sites',
    'django.contrib.messages',
    'django.contrib.staticfiles',
    'django.contrib.humanize',
    'postorius',
    'django_mailman3',
    'django_gravatar',
    'allauth',
    'allauth.account',
    'allauth.socialaccount',
    # The one line a site adds (docs/install.md).
    'mailman_antibackscatter.web',
]

MIDDLEWARE = [
    'allauth.account.middleware.AccountMiddleware',
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    'django.contrib.messages.middleware.MessageMiddleware',
    'django.middleware.clickjacking.XFrameOptionsMiddleware',
    'django_mailman3.middleware.TimezoneMiddleware',
    'postorius.middleware.PostoriusMiddleware',
]

ROOT_URLCONF = 'tests.web.urls'

TEMPLATES = [{
    'BACKEND': 'django.template.backends.django.DjangoTemplates',
    'DIRS': [],
    'APP_DIRS': True,
    'OPTIONS': {'context_processors': [
        'django.template.context_processors.debug',
        'django.template.context_processors.i18n',
        'django.template.context_processors.static',
        'django.template.context_processors.tz',
        'django.template.context_processors.request',
        'django.contrib.auth.context_processors.auth',
        'django.contrib.messages.context_processors.messages',
        'django_mailman3.context_processors.common',
        'postorius.context_processors.postorius',
    ]},
}]

DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',
                         'NAME': str(BASE_DIR / 'unused.sqlite3')}}
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
AUTHENTICATION_BACKENDS = [
    'django.contrib.auth.backends.ModelBackend',
    'allauth.account.auth_backends.AuthenticationBackend',
]
PASSWORD_HASHERS = ['django.contrib.auth.hashers.MD5PasswordHasher']
LOGIN_URL = 'account_login'
LOGIN_REDIRECT_URL = 'list_index'
LOGOUT_URL = 'account_logout'
ACCOUNT_EMAIL_VERIFICATION = 'none'
ACCOUNT_LOGIN_METHODS = {'username', 'email'}
HYPERKITTY_ENABLE_GRAVATAR = False
LANGUAGE_CODE = 'en-us'
TIME_ZONE = 'UTC'
USE_I18N = True
USE_TZ = True
STATIC_URL = '/static/'
EMAIL_BACKEND = 'django.core.mail.backends.locmem.EmailBackend'
CACHES = {'default': {
    'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}
