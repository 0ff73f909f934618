# Copyright (C) 2026 the mailman-antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real, throw-away PostgreSQL server on loopback for tests.

Uses Debian's PostgreSQL binaries (/usr/lib/postgresql/<version>/bin) and
installs the ``postgresql`` package with apt-get when they are missing and we
may (root, apt-get present).  The server gets its own data directory, a free
TCP port on 127.0.0.1 and a unix socket in its own directory; the cluster
that Debian's package creates (and may or may not start) is never used.

    with PostgresServer() as pg:
        pg.url                       # postgresql://mailman:...@127.0.0.1:N/mailman
        other = pg.create_database('second')
        pg.psql('SELECT 1', database='second')

PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` system user (created when missing); otherwise as ourselves.
Clients log in over TCP with a password (scram-sha-256), as Mailman does on a
real site; the superuser ``postgres`` is reachable only over the socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from tests.harness.smtpsink import free_port

__all__ = ['PostgresServer', 'PostgresStartError', 'PostgresUnavailable',
           'ensure_postgres', 'find_bindir', 'unavailable_is_fatal']

_HOST = '127.0.0.1'
_DEBIAN_ROOT = Path('/usr/lib/postgresql')
_NEEDED = ('initdb', 'postgres', 'pg_isready', 'psql')
_SYSTEM_USER = 'postgres'
_SUPERUSER = 'postgres'
_INSTALL_LOCK = Path(tempfile.gettempdir()) / 'antibackscatter-pg-install.lock'

# Durability is worthless for a throw-away test server; speed is not.
_SETTINGS = {
    'listen_addresses': _HOST,
    'fsync': 'off',
    'synchronous_commit': 'off',
    'full_page_writes': 'off',
    # Every Mailman runner and REST worker keeps its own pool.
    'max_connections': '200',
    'shared_buffers': '32MB',
    'log_min_messages': 'warning',
    'log_line_prefix': '%m [%p] ',
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, and we cannot install them here."""


class PostgresStartError(RuntimeError):
    """initdb or the server failed; the message carries the log's tail."""


def unavailable_is_fatal() -> bool:
    """In CI (CI set) a missing PostgreSQL fails the run; elsewhere skips."""
    return bool(os.environ.get('CI'))


def find_bindir() -> Optional[Path]:
    """The newest Debian PostgreSQL bin directory with a server, or None."""
    candidates = []
    try:
        entries = list(_DEBIAN_ROOT.iterdir())
    except OSError:
        return None
    for entry in entries:
        bindir = entry / 'bin'
        if all((bindir / name).is_file() for name in _NEEDED):
            try:
                key = tuple(int(part) for part in entry.name.split('.'))
            except ValueError:
                continue
            candidates.append((key, bindir))
    return max(candidates)[1] if candidates else None


def _apt_lists_present() -> bool:
    lists = Path('/var/lib/apt/lists')
    try:
        return any(p.name.endswith('_Packages') for p in lists.iterdir())
    except OSError:
        return False


def _apt(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    return subprocess.run(
        ['apt-get', '-o', 'DPkg::Lock::Timeout=600', *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
        timeout=timeout)


def ensure_postgres(install: bool = True) -> Path:
    """The PostgreSQL bin directory, installing Debian's package if need be.

    Debian's package also creates a default cluster and may try to start it;
    that cluster is irrelevant here (we run our own), so whether it starts
    (there is no systemd in a container) does not matter.
    """
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if not install:
        raise PostgresUnavailable(
            'PostgreSQL server binaries not found under {}; install Debian\'s '
            '"postgresql" package'.format(_DEBIAN_ROOT))
    if os.geteuid() != 0 or shutil.which('apt-get') is None:
        raise PostgresUnavailable(
            'PostgreSQL server binaries not found under {} and cannot be '
            'installed here (needs root and apt-get): run `apt-get install '
            'postgresql` as root'.format(_DEBIAN_ROOT))
    # Two test processes may get here at once; apt would refuse the second.
    with open(_INSTALL_LOCK, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        bindir = find_bindir()
        if bindir is not None:
            return bindir
        install_args = ('install', '-y', '--no-install-recommends',
                        'postgresql')
        outputs = []
        if not _apt_lists_present():
            outputs.append(_apt('update'))
        result = _apt(*install_args)
        outputs.append(result)
        if result.returncode != 0:
            # Stale package lists are the usual reason: refresh and retry.
            outputs.append(_apt('update'))
            outputs.append(_apt(*install_args))
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                '`apt-get install postgresql` did not provide a server:\n'
                + '\n'.join('$ {}\n{}{}'.format(' '.join(r.args), r.stdout[
                    -2000:], r.stderr[-2000:]) for r in outputs))
        return bindir


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding='utf-8', errors='replace')
    except OSError:
        return ''
    return '\n'.join(text.splitlines()[-lines:])


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_name(name: str) -> str:
    if not re.fullmatch(r'[a-z_][a-z0-9_]{0,62}', name):
        raise ValueError('not a plain lower-case SQL name: {!r}'.format(name))
    return name


def _system_user() -> pwd.struct_passwd:
    """The unprivileged account a root process runs the server as."""
    try:
        return pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        pass
    subprocess.run(
        ['useradd', '--system', '--user-group', '--no-create-home',
         '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin',
         _SYSTEM_USER], check=True, capture_output=True, text=True)
    return pwd.getpwnam(_SYSTEM_USER)


class PostgresServer:
    """One private PostgreSQL cluster, started on enter, deleted on exit.

    ``url`` is a SQLAlchemy/Mailman URL for ``database`` owned by ``user``,
    who logs in with ``password`` over TCP.  ``create_database(name)`` adds
    more databases owned by the same user and returns their URLs.
    """

    def __init__(self, *, user: str = 'mailman', database: str = 'mailman',
                 install: bool = True, settings: Optional[dict] = None,
                 start_timeout: float = 60):
        self.user = _check_name(user)
        self.database = _check_name(database)
        self.password = 'pw' + secrets.token_hex(12)
        self.host = _HOST
        self.port: Optional[int] = None
        self.install = install
        self.settings = dict(_SETTINGS, **(settings or {}))
        self.start_timeout = start_timeout
        self.bindir: Optional[Path] = None
        self.root: Optional[Path] = None
        self._process: Optional[subprocess.Popen] = None
        self._account: Optional[pwd.struct_passwd] = None
        # Seconds spent installing (0 when already there) and starting.
        self.install_seconds: Optional[float] = None
        self.start_seconds: Optional[float] = None

    # -- paths and URLs ----------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.root / 'data'

    @property
    def socket_dir(self) -> Path:
        return self.root / 'socket'

    @property
    def log_path(self) -> Path:
        return self.root / 'postgres.log'

    @property
    def version(self) -> str:
        """Major version, e.g. '15' (the Debian directory name)."""
        return self.bindir.parent.name

    def url_for(self, database: str) -> str:
        return 'postgresql://{}:{}@{}:{}/{}'.format(
            self.user, self.password, self.host, self.port, database)

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding='utf-8', errors='replace')
        except (OSError, TypeError):
            return ''

    # -- running things ----------------------------------------------------

    def _env(self) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith('PG')}
        env.update(LC_ALL='C', LANG='C', HOME=str(self.root))
        return env

    def _as_owner(self) -> dict:
        """Popen arguments that drop root to the server's account."""
        if self._account is None:
            return {}
        return dict(user=self._account.pw_uid, group=self._account.pw_gid,
                    extra_groups=[])

    def _run(self, *args, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault('timeout', 60)
        return subprocess.run(
            [str(arg) for arg in args], stdin=subprocess.DEVNULL,
            capture_output=True, text=True, env=self._env(),
            cwd=str(self.root), **kwargs)

    def psql(self, sql: str, database: str = 'postgres') -> str:
        """Run ``sql`` as the superuser over the socket; unaligned output."""
        result = self._run(
            self.bindir / 'psql', '-X', '-q', '-A', '-t', '-v',
            'ON_ERROR_STOP=1', '-h', self.socket_dir, '-p', self.port,
            '-U', _SUPERUSER, '-d', database, '-c', sql)
        if result.returncode != 0:
            raise RuntimeError('psql failed ({}): {}\n{}'.format(
                result.returncode, sql, result.stderr.strip()))
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create database ``name`` owned by ``user``; return its URL."""
        self.psql('CREATE DATABASE {} OWNER {} ENCODING \'UTF8\''.format(
            _quote_ident(_check_name(name)), _quote_ident(self.user)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        self.psql('DROP DATABASE IF EXISTS {} WITH (FORCE)'.format(
            _quote_ident(_check_name(name))))

    def tables(self, database: Optional[str] = None) -> set:
        """Names of the tables in the public schema of ``database``."""
        out = self.psql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            database=database or self.database)
        return {line for line in out.splitlines() if line}

    # -- life cycle --------------------------------------------------------

    def start(self) -> 'PostgresServer':
        if self._process is not None:
            return self
        began = time.monotonic()
        self.bindir = ensure_postgres(self.install)
        self.install_seconds = time.monotonic() - began
        if os.geteuid() == 0:
            self._account = _system_user()
        self.root = Path(tempfile.mkdtemp(prefix='antibackscatter-pg-'))
        try:
            self._initdb()
            self._launch()
            self._bootstrap()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began - self.install_seconds
        return self

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        pwfile = self.root / 'superuser-password'
        pwfile.write_text(secrets.token_hex(16) + '\n')
        if self._account is not None:
            for path in (self.root, self.socket_dir, pwfile):
                os.chown(path, self._account.pw_uid, self._account.pw_gid)
        os.chmod(self.root, 0o700)
        result = self._run(
            self.bindir / 'initdb', '-D', self.data_dir, '-U', _SUPERUSER,
            '--pwfile', pwfile, '--auth-local=trust',
            '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C',
            '--no-sync', timeout=120, **self._as_owner())
        pwfile.unlink()
        if result.returncode != 0:
            raise PostgresStartError('initdb exited {}:\n{}\n{}'.format(
                result.returncode, result.stdout[-3000:],
                result.stderr[-3000:]))

    def _launch(self) -> None:
        # The port is free "a moment ago"; if someone takes it before the
        # server binds it, try another one.
        for _attempt in range(5):
            self.port = free_port()
            args = [str(self.bindir / 'postgres'), '-D', str(self.data_dir),
                    '-p', str(self.port),
                    '-c', 'unix_socket_directories=' + str(self.socket_dir)]
            for key, value in self.settings.items():
                args += ['-c', '{}={}'.format(key, value)]
            with open(self.log_path, 'ab') as log:
                if self._account is not None:
                    os.chown(self.log_path, self._account.pw_uid,
                             self._account.pw_gid)
                # Own session: a Ctrl-C meant for the tests must not kill the
                # server before stop() shuts it down in order.
                self._process = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, env=self._env(),
                    cwd=str(self.root), start_new_session=True,
                    **self._as_owner())
            if self._wait_ready():
                return
            log_text = self.log()
            self._terminate()
            if 'Address already in use' not in log_text:
                break
        raise PostgresStartError(
            'PostgreSQL {} did not become ready on {}:{} within {}s; '
            'log tail:\n{}'.format(self.version, self.host, self.port,
                                   self.start_timeout, _tail(self.log_path)))

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            result = self._run(self.bindir / 'pg_isready', '-q', '-h',
                               self.host, '-p', self.port, '-t', '2',
                               '-d', 'postgres', '-U', _SUPERUSER,
                               timeout=10)
            # 0 accepting; 1 rejecting (starting up); 2 no answer.
            if result.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def _bootstrap(self) -> None:
        self.psql('CREATE ROLE {} LOGIN PASSWORD \'{}\''.format(
            _quote_ident(self.user), self.password))
        self.create_database(self.database)

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # SIGINT: fast shutdown; SIGQUIT: immediate; SIGKILL: last resort.
        for sig, wait in ((signal.SIGINT, 20), (signal.SIGQUIT, 5),
                          (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> None:
        """Shut the server down and delete its data directory."""
        self._terminate()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> 'PostgresServer':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> int:
    """`python -m tests.harness.postgres`: install + smoke.

    Installs Debian's PostgreSQL if missing (as the test run would), starts a
    private server, runs one query and stops it; prints the timings.
    """
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--install-only', action='store_true',
                        help='only make sure the binaries are there')
    args = parser.parse_args(argv)
    began = time.monotonic()
    try:
        bindir = ensure_postgres()
    except PostgresUnavailable as error:
        print('PostgreSQL unavailable, its tests will {}: {}'.format(
            'fail' if unavailable_is_fatal() else 'be skipped', error))
        return 1 if unavailable_is_fatal() else 0
    print('PostgreSQL binaries: {} ({:.1f}s)'.format(
        bindir, time.monotonic() - began))
    if args.install_only:
        return 0
    with PostgresServer() as server:
        answer = server.psql('SELECT version()', database=server.database)
        print('started in {:.1f}s on port {}: {}'.format(
            server.start_seconds, server.port, answer.strip()))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
