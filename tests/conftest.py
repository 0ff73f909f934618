"""Tiers: unit, component, e2e (Mailman core) and web (the Postorius page)."""

import importlib.util

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
