"""Virtualenvs holding a site's own stack, for the install tests.

A mailman-web 0.0.9 site runs Django 4.2 and a Postorius 1.3.13 site may
run Django 5.0; neither can be the test venv, which also holds Mailman core.
Nor can a Mailman core that has only the core wheel (as docker-mailman's
image would).  Each site venv is built from PyPI once, from its own
constraints file (constraints/web-NAME.txt for the web sites), and kept as
.venv-web-NAME-HASH (.venv-core-NAME-HASH) at the top of the checkout: HASH
covers that file, the requirement and the Python, so a changed pin builds
a new venv and the old one is removed.  Building one takes minutes;
reusing one takes none.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / 'constraints'
BUILD = ROOT / 'distributions' / 'build.py'
PIP_TIMEOUT = 1800


class WebVenvError(RuntimeError):
    """A command that builds or inspects a site venv failed."""


def clean_environment():
    """This process's environment without what would let a site venv's
    Python see the checkout or the test venv (PYTHONPATH above all)."""
    return {name: value for name, value in os.environ.items()
            if name not in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV')}


def run(command, timeout=PIP_TIMEOUT, env=None, **kwargs):
    """Run `command` (in a clean environment unless `env` is given);
    WebVenvError with the end of its output if it fails."""
    result = subprocess.run([str(part) for part in command],
                            capture_output=True, text=True, timeout=timeout,
                            env=clean_environment() if env is None else env,
                            **kwargs)
    if result.returncode != 0:
        raise WebVenvError('{} exited {}:\n{}\n{}'.format(
            ' '.join(str(part) for part in command), result.returncode,
            result.stdout[-3000:], result.stderr[-3000:]))
    return result


WHEEL_NAMES = {'core': 'mailman_antibackscatter-*.whl',
               'web': 'mailman_antibackscatter_web-*.whl'}


def build_wheel(which, outdir):
    """The wheel of distribution `which` ('core' or 'web'), as `make dist`
    builds it."""
    run([sys.executable, BUILD, '--wheel', '--outdir', outdir, which])
    wheels = sorted(Path(outdir).glob(WHEEL_NAMES[which]))
    if len(wheels) != 1:
        raise WebVenvError('expected one {} wheel in {}, found {}'.format(
            which, outdir, [wheel.name for wheel in wheels]))
    return wheels[0]


def _key(constraints, requirement):
    digest = hashlib.sha256()
    for part in (constraints.read_bytes(), requirement.encode(),
                 sys.version.encode()):
        digest.update(part + b'\0')
    return digest.hexdigest()[:12]


# name: (kind, what the site installs, the pins it installs it with)
SITES = {
    'mailman-web-0.0.9': ('web', 'mailman-web==0.0.9',
                          CONSTRAINTS / 'web-mailman-web-0.0.9.txt'),
    'postorius-1.3.13': ('web', 'postorius==1.3.13',
                         CONSTRAINTS / 'web-postorius-1.3.13.txt'),
    # Mailman core as docker-mailman's image installs it, under the pins
    # the plugin is tested with.
    'mailman-3.3.10': ('core', 'mailman==3.3.10', ROOT / 'constraints.txt'),
}
_built = {}


def site_venv(name):
    """The venv of site NAME (SITES): its requirement under its pins.

    Built when missing; its `.complete` file is written last, so an
    interrupted build is built again, never reused.  The lock keeps two
    test runs from building the same venv at once.
    """
    kind, requirement, constraints = SITES[name]
    prefix = '.venv-{}-{}-'.format(kind, name)
    path = ROOT / (prefix + _key(constraints, requirement))
    with open(ROOT / (prefix + 'lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / '.complete').exists():
            for stale in ROOT.glob(prefix + '*'):
                if stale.is_dir():
                    shutil.rmtree(stale)
            venv.EnvBuilder(with_pip=True).create(path)
            run([path / 'bin' / 'python', '-m', 'pip', 'install', '-q',
                 '-c', constraints, requirement])
            (path / '.complete').write_text(requirement + '\n')
    return path


def site_venvs():
    """{name: venv} of every site in SITES.  The first call builds the
    missing ones side by side (pip mostly waits for the index, so three
    builds take little more than the time of one)."""
    if not _built:
        with ThreadPoolExecutor(max_workers=len(SITES)) as pool:
            futures = {name: pool.submit(site_venv, name) for name in SITES}
            _built.update((name, future.result())
                          for name, future in futures.items())
    return dict(_built)


def installed(venv_path):
    """{normalized distribution name: version} of what is in the venv."""
    listing = run([venv_path / 'bin' / 'python', '-m', 'pip', 'list',
                   '--format=json'])
    return {item['name'].lower().replace('_', '-'): item['version']
            for item in json.loads(listing.stdout)}


def install_wheel(venv_path, wheel, name):
    """Install `wheel` (distribution `name`) into the venv as a site admin
    would, with a plain `pip install`; (what the venv had, what it has).

    A venv reused from an earlier run may hold an earlier build of it: that
    one goes first.  `pip check` must pass afterwards.
    """
    python = venv_path / 'bin' / 'python'
    run([python, '-m', 'pip', 'uninstall', '-q', '-y', name])
    before = installed(venv_path)
    run([python, '-m', 'pip', 'install', '-q', wheel])
    after = installed(venv_path)
    run([python, '-m', 'pip', 'check'])
    return before, after
