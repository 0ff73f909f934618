"""The plugin installed into Debian's Python left every Debian file alone.

tests/debian/install.sh installs Debian 12's mailman3 with apt-get and the
plugin's wheel with ``pip install --no-deps``.  These tests prove what
docs/install.md promises of that: Debian's files are as the packages
shipped them, the only distribution outside Debian's dist-packages is the
plugin, Mailman is Debian's, and the installed plugin is this source tree
(so the end-to-end run tests this code, not an older wheel).
"""

import hashlib
import json
import subprocess
from pathlib import Path

from tests.harness.instance import INSTALLS

DEBIAN = INSTALLS['debian']
DEBIAN_PYTHON = '/usr/bin/python3'
DEBIAN_SITE = '/usr/lib/python3/dist-packages'
PACKAGE_DIR = Path(__file__).resolve().parents[2] / 'mailman_antibackscatter'

# What Debian's Python sees, as the list user sees it.
_INSPECT = r'''
import importlib.metadata, json, mailman, mailman_antibackscatter
dists = {}
for dist in importlib.metadata.distributions():
    dists[dist.metadata['Name']] = str(dist.locate_file(''))
print(json.dumps({
    'distributions': dists,
    'mailman': mailman.__file__,
    'mailman_version': importlib.metadata.version('mailman'),
    'plugin': mailman_antibackscatter.__file__,
}))
'''


def _debian_python(code):
    result = subprocess.run(
        ['runuser', '-u', DEBIAN.user, '--', DEBIAN_PYTHON, '-I', '-c', code],
        capture_output=True, text=True, cwd='/', timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# Every module of Mailman and of the plugin (but the Postorius page, which
# runs in the web site's Python, and the tests), imported as the runners
# would: the files they come from, and the plugin's modules that failed.
_IMPORT_ALL = r'''
import importlib, json, pkgutil, sys
import mailman, mailman_antibackscatter
failed = []
for package in (mailman, mailman_antibackscatter):
    for info in pkgutil.walk_packages(package.__path__,
                                      package.__name__ + '.'):
        parts = info.name.split('.')
        if {'tests', 'testing', 'alembic'} & set(parts) or parts[1] == 'web':
            continue
        try:
            importlib.import_module(info.name)
        except Exception as error:
            if package is mailman_antibackscatter:
                failed.append('{}: {!r}'.format(info.name, error))
print(json.dumps({'failed': failed, 'files': sorted(
    {getattr(module, '__file__', None) or ''
     for module in list(sys.modules.values())} - {''})}))
'''


def _packages_owning(paths):
    """The Debian packages that own ``paths``."""
    result = subprocess.run(['dpkg-query', '-S'] + sorted(paths),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    owners = set()
    for line in result.stdout.splitlines():
        names = line.rsplit(': ', 1)[0]
        owners.update(name.strip() for name in names.split(','))
    return sorted(owners)


def test_every_plugin_module_imports_on_debians_libraries():
    assert _debian_python(_IMPORT_ALL)['failed'] == []


def test_no_debian_file_mailman_loads_was_replaced():
    files = [path for path in _debian_python(_IMPORT_ALL)['files']
             if path.startswith(('/usr/lib/python3/', '/usr/lib/python3.'))]
    packages = _packages_owning(files)
    assert {'mailman3', 'python3-dkim', 'python3-spf'} <= set(packages)
    result = subprocess.run(['dpkg', '--verify'] + packages,
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, ''), result.stdout


def test_only_the_plugins_two_distributions_are_outside_debians_packages():
    seen = _debian_python(_INSPECT)
    foreign = {name: where for name, where in seen['distributions'].items()
               if not where.startswith(DEBIAN_SITE)}
    assert sorted(foreign) == ['mailman-antibackscatter',
                               'mailman-antibackscatter-web'], foreign
    assert all(where.startswith('/usr/local/')
               for where in foreign.values()), foreign
    assert seen['mailman'].startswith(DEBIAN_SITE + '/')
    assert seen['mailman_version'] == '3.3.8'
    assert seen['plugin'].startswith('/usr/local/')


def _digests(root):
    return {str(path.relative_to(root)):
            hashlib.sha256(path.read_bytes()).hexdigest()
            for path in root.rglob('*')
            if path.is_file() and '__pycache__' not in path.parts
            and path.suffix != '.pyc'}


def test_installed_plugin_is_this_source_tree():
    installed = Path(_debian_python(_INSPECT)['plugin']).parent
    source = _digests(PACKAGE_DIR)
    copied = _digests(installed)
    # The wheel holds the modules and package data, not every file.
    missing = sorted(name for name in copied if name not in source)
    differ = sorted(name for name in copied
                    if name in source and copied[name] != source[name])
    absent = sorted(name for name in source
                    if name.endswith('.py') and name not in copied)
    assert (missing, differ, absent) == ([], [], []), (
        'the plugin in Debian\'s Python is not this tree: run '
        'sh tests/debian/install.sh (make test-debian does)')
