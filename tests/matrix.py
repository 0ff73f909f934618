"""The test tiers against each older supported Mailman, one venv each.

`make test` covers Mailman 3.3.10 (constraints.txt).  For every other
supported version this builds `.venv-mailman-VERSION` from
`constraints/mailman-VERSION.txt` (reused while those files and setup.cfg
are unchanged), checks that the venv really runs that Mailman, and runs the
unit, component (SQLite and PostgreSQL) and end-to-end tiers in it.  Run
it from the repository root:

    python -m tests.matrix                  # every version
    python -m tests.matrix 3.3.8            # one
    python -m tests.matrix --lock /tmp/mailman-tests.lock

The component tiers listen on fixed loopback ports: with --lock they run
holding that file's lock, as a developer's shell would with flock(1).
Prints pytest's closing line and the wall time per version and tier, and
exits non-zero when any tier failed.
"""

import argparse
import fcntl
import hashlib
import os
import subprocess
import sys
import time

from contextlib import contextmanager, nullcontext
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO_ROOT / 'constraints'
# Each tier's pytest arguments; the component tier runs on SQLite and with
# Mailman's database on PostgreSQL, as `make test` runs it.
TIERS = {
    'unit': ['tests/unit'],
    'component': ['tests/component'],
    'component-postgresql': ['tests/component',
                             '--mailman-database=postgresql'],
    # The core wheel's own install test builds a Mailman 3.3.10 venv
    # whatever Mailman runs the tier: `make test` runs it once.
    'e2e': ['tests/e2e',
            '--ignore=tests/e2e/test_install_core_wheel.py'],
    }
# What the venv is built from: a change to any rebuilds it.
INSTALL_INPUTS = ('setup.cfg', 'pyproject.toml')


def versions():
    """The Mailman versions that have a constraint set, oldest first."""
    found = [path.stem[len('mailman-'):]
             for path in CONSTRAINTS.glob('mailman-*.txt')]
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split('.')))


def _install_digest(constraints):
    digest = hashlib.sha256()
    for path in (constraints,) + tuple(REPO_ROOT / name
                                       for name in INSTALL_INPUTS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_venv(version, python=sys.executable):
    """`.venv-mailman-VERSION` with the plugin (editable) and its test
    extra installed with that version's constraint set."""
    venv = REPO_ROOT / '.venv-mailman-{}'.format(version)
    constraints = CONSTRAINTS / 'mailman-{}.txt'.format(version)
    stamp = venv / '.installed-matrix'
    wanted = _install_digest(constraints)
    if stamp.exists() and stamp.read_text() == wanted:
        return venv
    if not (venv / 'bin' / 'python').exists():
        subprocess.run([python, '-m', 'venv', str(venv)], check=True)
    subprocess.run(
        [str(venv / 'bin' / 'python'), '-m', 'pip', 'install', '-q',
         '-c', str(constraints), '-e', '{}[test]'.format(REPO_ROOT)],
        check=True, cwd=REPO_ROOT)
    stamp.write_text(wanted)
    return venv


def installed_mailman(venv):
    """The Mailman version the venv's Python imports."""
    return subprocess.run(
        [str(venv / 'bin' / 'python'), '-c',
         'from mailman.version import VERSION; print(VERSION)'],
        check=True, capture_output=True, text=True,
        cwd=REPO_ROOT).stdout.strip()


@contextmanager
def held(lock_path):
    with open(lock_path, 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_tier(venv, tier, lock_path=None):
    """(exit code, pytest's closing line, seconds) of one tier."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [str(venv / 'bin' / 'python'), '-m', 'pytest', '-q',
               '-p', 'no:cacheprovider'] + TIERS[tier]
    lock = held(lock_path) if lock_path and tier.startswith('component') \
        else nullcontext()
    with lock:
        start = time.monotonic()
        result = subprocess.run(command, cwd=REPO_ROOT, env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        seconds = time.monotonic() - start
    output = result.stdout
    sys.stdout.write(output)
    lines = [line for line in output.splitlines() if line.strip()]
    closing = lines[-1].strip('= ') if lines else 'no output'
    return result.returncode, closing, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tests.matrix', description=__doc__.splitlines()[0])
    parser.add_argument('versions', nargs='*', metavar='VERSION',
                        help='Mailman versions (default: every '
                        'constraints/mailman-*.txt)')
    parser.add_argument('--tiers', default=','.join(TIERS),
                        help='comma-separated tiers (default: %(default)s)')
    parser.add_argument('--lock', metavar='FILE',
                        help='hold this lock while the component tier runs')
    args = parser.parse_args(argv)
    chosen = args.versions or versions()
    tiers = [tier for tier in args.tiers.split(',') if tier]
    unknown = set(chosen) - set(versions())
    if unknown or not set(tiers) <= set(TIERS):
        parser.error('no constraint set for {} or unknown tier in {}'.format(
            ', '.join(sorted(unknown)) or 'any', args.tiers))
    results = []
    for version in chosen:
        start = time.monotonic()
        venv = build_venv(version)
        found = installed_mailman(venv)
        setup = time.monotonic() - start
        if found != version:
            results.append((version, 'venv', 1, 'the venv runs Mailman '
                            '{}'.format(found), setup))
            continue
        results.append((version, 'venv', 0, 'Mailman ' + found, setup))
        for tier in tiers:
            code, closing, seconds = run_tier(venv, tier, args.lock)
            results.append((version, tier, code, closing, seconds))
    print('\nMailman  tier                  time  result')
    for version, tier, code, closing, seconds in results:
        print('{:8} {:20} {:4.0f}s  {}{}'.format(
            version, tier, seconds, '' if code == 0 else 'FAILED: ',
            closing))
    return 1 if any(code for _v, _t, code, _c, _s in results) else 0


if __name__ == '__main__':
    sys.exit(main())
