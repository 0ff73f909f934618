"""Builds this repository's two distributions (sdist and wheel of each).

mailman-antibackscatter, the plugin for Mailman core, is built from the
repository's root (setup.cfg).  mailman-antibackscatter-web, the Postorius
page, is built from distributions/web/pyproject.toml in a staging directory
that holds that file, its README and a copy of mailman_antibackscatter/web/:
setuptools takes no package directory from outside a project's root, and
the page's source stays in one place in the repository.  Both share the
version in setup.cfg's [metadata].

    python distributions/build.py [--wheel] [--outdir dist] [core] [web]
    python distributions/build.py --requirements web
    python distributions/build.py --stage DIRECTORY web

--requirements prints the web distribution's requirements (the test venv
installs them and tests the page from the checkout: a wheel's copy in
site-packages would stand beside the editable core as a second part of
the package).  --stage only lays out the web project in DIRECTORY, for a
Python without `build` (Debian's: `pip wheel --no-deps DIRECTORY`).
"""

import argparse
import configparser
import tomllib
import shutil
import subprocess
import sys
import tempfile

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB_PROJECT = ROOT / 'distributions' / 'web'
WEB_PACKAGE = Path('mailman_antibackscatter', 'web')


def version():
    """The version of both distributions: setup.cfg's."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / 'setup.cfg')
    return parser['metadata']['version']


def web_requirements():
    """The web distribution's requirements, as pip arguments."""
    with open(WEB_PROJECT / 'pyproject.toml', 'rb') as stream:
        return tomllib.load(stream)['project']['dependencies']


def stage_web(directory):
    """Lay out the web distribution's project in `directory`."""
    for name in ('pyproject.toml', 'README.md'):
        shutil.copy2(WEB_PROJECT / name, directory / name)
    (directory / 'VERSION').write_text(version() + '\n')
    shutil.copytree(ROOT / WEB_PACKAGE, directory / WEB_PACKAGE,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


def build(project, outdir, wheel_only):
    """`python -m build` of `project`: an sdist, then the wheel from it."""
    command = [sys.executable, '-m', 'build', '--outdir', str(outdir)]
    if wheel_only:
        command.append('--wheel')
    subprocess.run(command + [str(project)], check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('which', nargs='*', metavar='core|web',
                        help='the distributions to build (default: both)')
    parser.add_argument('--outdir', default=str(ROOT / 'dist'))
    parser.add_argument('--wheel', action='store_true',
                        help='only the wheels, built from the source tree')
    parser.add_argument('--stage', metavar='DIRECTORY',
                        help='only lay out the web project there')
    parser.add_argument('--requirements', action='store_true',
                        help="print the distributions' requirements")
    args = parser.parse_args(argv)
    unknown = set(args.which) - {'core', 'web'}
    if unknown:
        parser.error('no such distribution: {}'.format(', '.join(unknown)))
    if args.requirements:
        if args.which != ['web']:
            parser.error('--requirements: only for web')
        print(' '.join(web_requirements()))
        return
    if args.stage:
        if args.which != ['web']:
            parser.error('--stage: only for web')
        Path(args.stage).mkdir(parents=True)
        stage_web(Path(args.stage))
        return
    outdir = Path(args.outdir).resolve()
    for which in args.which or ('core', 'web'):
        if which == 'core':
            build(ROOT, outdir, args.wheel)
            continue
        with tempfile.TemporaryDirectory(prefix='antibackscatter-web-') as d:
            stage_web(Path(d))
            build(Path(d), outdir, args.wheel)


if __name__ == '__main__':
    main()
