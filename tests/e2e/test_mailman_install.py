"""The world runs the Mailman that ``--mailman-install`` names.

Without this, a Debian run that silently started the venv's Mailman (or
the other way round) would pass every pair for the wrong installation.
"""

import os
import pwd
import subprocess

import pytest

pytestmark = pytest.mark.e2e


def _interpreter(script):
    """The Python a console script runs under (its #! line; a venv's is
    a link whose own path, not its target, finds the venv)."""
    with open(script, 'rb') as fp:
        first = fp.readline().decode().strip()
    assert first.startswith('#!'), (script, first)
    return first[2:].split()[0]


def test_master_runs_the_install_asked_for(world, mailman_install):
    interpreter = _interpreter(world.mailman.mailman_command)
    master = int((world.mailman.var_dir / 'master.pid').read_text())
    assert (os.path.realpath('/proc/{}/exe'.format(master))
            == os.path.realpath(interpreter))
    uid = os.stat('/proc/{}'.format(master)).st_uid
    expected_uid = (pwd.getpwnam(mailman_install.user).pw_uid
                    if mailman_install.user else os.geteuid())
    assert uid == expected_uid
    installed = subprocess.run(
        [interpreter, '-I', '-c', 'import importlib.metadata as m; '
         'print(m.version("mailman"))'],
        capture_output=True, text=True, check=True).stdout.strip()
    versions = world.mailman.rest('GET', 'system/versions').json()
    assert versions['mailman_version'].split()[2] == installed
