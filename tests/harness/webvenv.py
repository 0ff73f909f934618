"""Virtualenvs holding a web site's own stack, for the web install tests.

A mailman-web 0.0.9 site runs Django 4.2 and a Postorius 1.3.13 site may
run Django 5.0; neither can be the test venv, which also holds Mailman core.
Each site venv is built from PyPI once, from its own constraints file
(constraints/web-NAME.txt), and kept as .venv-web-NAME-HASH at the top of
the checkout: HASH covers that file, the requirement and the Python, so a
changed pin builds a new venv and the old one is removed.  Building one
takes minutes; reusing one takes none.
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


def build_web_wheel(outdir):
    """The wheel of mailman-antibackscatter-web, as `make dist` builds it."""
    run([sys.executable, BUILD, '--wheel', '--outdir', outdir, 'web'])
    wheels = sorted(Path(outdir).glob('mailman_antibackscatter_web-*.whl'))
    if len(wheels) != 1:
        raise WebVenvError('expected one web wheel in {}, found {}'.format(
            outdir, [wheel.name for wheel in wheels]))
    return wheels[0]


def _key(constraints, requirement):
    digest = hashlib.sha256()
    for part in (constraints.read_bytes(), requirement.encode(),
                 sys.version.encode()):
        digest.update(part + b'\0')
    return digest.hexdigest()[:12]


def site_venv(name, requirement):
    """The venv of site NAME: `requirement` installed under its pins.

    Built when missing; its `.complete` file is written last, so an
    interrupted build is built again, never reused.  The lock keeps two
    test runs from building the same venv at once.
    """
    constraints = CONSTRAINTS / 'web-{}.txt'.format(name)
    prefix = '.venv-web-{}-'.format(name)
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


def site_venvs(requirements):
    """{name: venv} for {name: requirement}, the missing ones built side by
    side (pip mostly waits for the index, so two builds take the time of
    one)."""
    with ThreadPoolExecutor(max_workers=len(requirements)) as pool:
        futures = {name: pool.submit(site_venv, name, requirement)
                   for name, requirement in requirements.items()}
        return {name: future.result() for name, future in futures.items()}


def installed(venv_path):
    """{normalized distribution name: version} of what is in the venv."""
    listing = run([venv_path / 'bin' / 'python', '-m', 'pip', 'list',
                   '--format=json'])
    return {item['name'].lower().replace('_', '-'): item['version']
            for item in json.loads(listing.stdout)}
