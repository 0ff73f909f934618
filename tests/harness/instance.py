# Copyright (C) 2026 the mailman-antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real, throw-away GNU Mailman 3 instance for end-to-end tests.

The instance runs the stock ``mailman`` command line tool (``start``,
``stop``, ...) on a private var directory, talks to it through its REST API,
and feeds it mail over LMTP exactly as Postfix's lmtp client would.  All
outgoing mail goes to an SMTP sink (see ``smtpsink.py``) given by port.

    with SMTPSink() as sink, MailmanInstance(tmp, smtp_port=sink.port) as mm:
        mm.create_list('test@example.com', subscription_policy='open')
        mm.inject(raw, mail_from='x@example.org', rcpt_to='test@example.com')
        mm.wait_idle()

Nothing here imports Mailman: it only uses its CLI, REST and LMTP
interfaces, so the tests run the same code paths as production.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import os
import re
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

import requests

from tests.harness.smtpsink import free_port

__all__ = ['INSTALLS', 'MailmanInstall', 'MailmanInstance',
           'MailmanStartError', 'database_class_for', 'xtext']

_HOST = '127.0.0.1'

# Queues that no runner empties quickly (or at all), so wait_idle() ignores
# them: shunt and bad are parking places; retry is only looked at every 15
# minutes.  Use queue_files() to look into them.
_PARKING_QUEUES = frozenset({'shunt', 'bad', 'retry'})

# Environment variable put into every Mailman process of an instance, so that
# stop() can find (and, if need be, kill) all of them and nothing else.
_TAG_VARIABLE = 'MAILMAN_ANTIBACKSCATTER_TEST_INSTANCE'

# Runners whose queue we wait on get a short sleep so that tests are fast.
_FAST_RUNNERS = ('in', 'command', 'pipeline', 'virgin', 'out')
_FAST_SLEEP = '0.25s'

# What bin/master passes on to runners (its PRESERVE_ENVS, roughly).
_RUNNER_ENV_PREFIXES = ('PYTHON', 'LC_')
_RUNNER_ENV_NAMES = frozenset({
    'COVERAGE_PROCESS_START', 'LANG', 'LANGUAGE', 'LOCALE_ARCHIVE',
    'MAILMAN_EXTRA_TESTING_CFG', 'MAILMAN_VAR_DIR'})


class MailmanStartError(RuntimeError):
    """Mailman did not come up (or a CLI command failed)."""


# gunicorn 25+ opens a control socket in ~/.gunicorn by default, which
# concurrent instances would share; switch it off.  Older gunicorns (Debian
# 12 has 20.1) refuse the unknown setting.
_GUNICORN_CONFIG = '[gunicorn]\ngraceful_timeout = 2\ntimeout = 360\n'
_GUNICORN_NO_SOCKET = 'control_socket_disable = true\n'


@dataclass(frozen=True)
class MailmanInstall:
    """Which installation of Mailman an instance runs, and as whom.

    ``command`` is the ``mailman`` script (None: the one next to the
    running interpreter).  With ``user``, every command runs as that user
    (``runuser``, so only as root), the instance's files are given to it,
    and no PYTHON* variable of the test run reaches Mailman: the plugin is
    the one installed into that Mailman's Python.  ``base_config`` is the
    site configuration the instance's own file is derived from (its layout,
    paths and defaults), with the var directory, ports and logs private.
    """

    name: str
    command: Optional[str] = None
    user: Optional[str] = None
    base_config: Optional[str] = None
    gunicorn_config: str = _GUNICORN_CONFIG + _GUNICORN_NO_SOCKET


INSTALLS = {
    # The test run's own virtualenv (the plugin from PYTHONPATH).
    'venv': MailmanInstall('venv'),
    # Debian 12's mailman3 package as Debian runs it (tests/debian).
    'debian': MailmanInstall(
        'debian', command='/usr/bin/mailman', user='list',
        base_config='/etc/mailman3/mailman.cfg',
        gunicorn_config=_GUNICORN_CONFIG),
}

# Path settings of a base configuration's layout that stay as they are:
# the programs and the read-only site files.  Every other absolute path
# would be shared with the site's own Mailman, so it must be private.
_SHARED_PATHS = frozenset({'bin_dir', 'etc_dir'})


def xtext(value: str) -> str:
    """RFC 3461 xtext encoding, as used by the XFORWARD command."""
    out = []
    for char in value:
        code = ord(char)
        if code < 33 or code > 126 or char in '+=':
            # Non-ASCII: encode each UTF-8 byte.
            for byte in char.encode('utf-8'):
                out.append('+%02X' % byte)
        else:
            out.append(char)
    return ''.join(out)


# Mailman's IDatabase classes by SQLAlchemy URL scheme (before any +driver).
_DATABASE_CLASSES = {
    'sqlite': 'mailman.database.sqlite.SQLiteDatabase',
    'postgresql': 'mailman.database.postgresql.PostgreSQLDatabase',
    'mysql': 'mailman.database.mysql.MySQLDatabase',
}


def database_class_for(url: str) -> str:
    """Mailman's database class for a SQLAlchemy URL (postgresql://...)."""
    scheme = url.split(':', 1)[0].split('+', 1)[0].lower()
    try:
        return _DATABASE_CLASSES[scheme]
    except KeyError:
        raise ValueError(
            'no Mailman database class for {!r} URLs'.format(scheme)) from None


def _mailman_executable() -> str:
    """The ``mailman`` script next to the running interpreter."""
    candidate = Path(sys.executable).parent / 'mailman'
    if candidate.exists():
        return str(candidate)
    return 'mailman'


def _port_open(port: int, host: str = _HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding='utf-8', errors='replace')
    except OSError:
        return ''
    return '\n'.join(text.splitlines()[-lines:])


def _normalise_data(raw: bytes) -> bytes:
    """CRLF line endings, dot-stuffed, terminated for the DATA phase."""
    data = re.sub(rb'\r\n|\r|\n', b'\r\n', raw)
    if not data.endswith(b'\r\n'):
        data += b'\r\n'
    data = re.sub(rb'(?m)^\.', b'..', data)
    return data + b'.\r\n'


class MailmanInstance:
    """A Mailman 3 instance under ``root`` (config in root/mailman.cfg).

    ``database_url`` (e.g. a ``PostgresServer(...).url``) replaces Mailman's
    default SQLite file; ``database_class`` defaults to Mailman's class for
    the URL's scheme (see ``database_class_for``).

    ``env`` is added to the environment of ``mailman start``/CLI commands.
    Beware: Mailman's master passes only a fixed list of variables on to
    the runners (PYTHONPATH, PYTHON*, LANG/LC_*, MAILMAN_VAR_DIR, ...; see
    ``PRESERVE_ENVS`` in mailman/bin/master.py).  Anything else reaches the
    master and CLI commands but not the runners; put such settings into
    the configuration (``plugin``/``extra_config``) instead.

    ``install`` says which Mailman runs (see ``MailmanInstall``).
    """

    admin_user = 'restadmin'

    def __init__(self, root: Union[str, Path], *, smtp_port: int,
                 lmtp_port: int = 0, rest_port: int = 0,
                 plugin: Optional[str] = None, extra_config: str = '',
                 env: Optional[dict] = None,
                 site_owner: str = 'site-owner@example.net',
                 database_url: Optional[str] = None,
                 database_class: Optional[str] = None,
                 install: MailmanInstall = INSTALLS['venv']):
        self.root = Path(root).resolve()
        self.install = install
        self.smtp_port = smtp_port
        self._requested_lmtp_port = lmtp_port
        self._requested_rest_port = rest_port
        self.lmtp_port = lmtp_port
        self.rest_port = rest_port
        self.plugin = plugin
        self.extra_config = extra_config
        self.env = dict(env or {})
        dropped = sorted(key for key in self.env
                         if not key.startswith(_RUNNER_ENV_PREFIXES)
                         and key not in _RUNNER_ENV_NAMES)
        if dropped:
            warnings.warn(
                'Mailman runners will not see these environment variables '
                '(master drops them): {}'.format(', '.join(dropped)),
                stacklevel=2)
        self.site_owner = site_owner
        # None: Mailman's default, SQLite in var/data/mailman.db.
        self.database_url = database_url
        self.database_class = database_class or (
            database_class_for(database_url) if database_url else None)
        # A password of our own: if another instance grabbed our free REST
        # port first, its 401 keeps start() from mistaking it for ours.
        self.admin_pass = 'restpass-' + secrets.token_hex(6)
        self.var_dir = self.root / 'var'
        self.config_path = self.root / 'mailman.cfg'
        self.gunicorn_config_path = self.root / 'gunicorn.cfg'
        self._session = requests.Session()
        self._session.auth = (self.admin_user, self.admin_pass)
        self._started = False
        self._master_pid: Optional[int] = None
        # The LMTP conversation of the last inject(), for debugging.
        self.last_lmtp_session: list = []
        self.last_data_reply_seconds: Optional[float] = None
        # Timings of the last start()/stop(), in seconds.
        self.start_seconds: Optional[float] = None
        self.stop_seconds: Optional[float] = None

    # -- configuration -----------------------------------------------------

    @property
    def log_dir(self) -> Path:
        return self.var_dir / 'logs'

    @property
    def queue_dir(self) -> Path:
        return self.var_dir / 'queue'

    @property
    def rest_url(self) -> str:
        return 'http://{}:{}/3.1/'.format(_HOST, self.rest_port)

    def render_config(self) -> str:
        """The text of mailman.cfg for the current ports."""
        runners = ''.join(
            '[runner.{}]\nsleep_time: {}\n\n'.format(name, _FAST_SLEEP)
            for name in _FAST_RUNNERS)
        base = textwrap.dedent("""\
            # Written by tests.harness.instance.
            [mailman]
            {layout}site_owner: {site_owner}

            {paths}
            [devmode]
            enabled: no

            [mta]
            incoming: mailman.mta.null.NullMTA
            smtp_host: {host}
            smtp_port: {smtp_port}
            lmtp_host: {host}
            lmtp_port: {lmtp_port}

            [webservice]
            hostname: {host}
            port: {rest_port}
            admin_user: {admin_user}
            admin_pass: {admin_pass}
            configuration: {gunicorn_config}

            [runner.bounces]
            sleep_time: 1s

            [runner.archive]
            sleep_time: 1s

            [runner.digest]
            sleep_time: 1s

            """).format(
                site_owner=self.site_owner,
                layout='' if self.install.base_config else 'layout: here\n',
                paths=self._paths_config(),
                host=_HOST, smtp_port=self.smtp_port,
                lmtp_port=self.lmtp_port, rest_port=self.rest_port,
                admin_user=self.admin_user, admin_pass=self.admin_pass,
                gunicorn_config=self.gunicorn_config_path)
        archivers = ''.join(
            '[archiver.{}]\nenable: no\n\n'.format(name)
            for name in ('mhonarc', 'mail_archive', 'prototype'))
        logging = ''.join(
            '[logging.{}]\nlevel: {}\n\n'.format(name, level)
            for name, level in (
                ('root', 'info'), ('error', 'info'), ('runner', 'info'),
                ('config', 'info'), ('http', 'info'), ('plugins', 'debug'),
                ('vette', 'debug'), ('smtp', 'debug'), ('bounce', 'debug'),
                ('subscribe', 'debug'), ('mischief', 'debug'),
                ('debug', 'debug'), ('archiver', 'info'), ('task', 'info'),
                ('locks', 'info'), ('fromusenet', 'info'),
                ('database', 'warn'), ('gunicorn', 'info')))
        parts = [base, runners, archivers, logging]
        if self.database_url:
            parts.append('[database]\nclass: {}\nurl: {}\n\n'.format(
                self.database_class, self.database_url))
        if self.plugin:
            parts.append('# --- plugin ---\n' + self.plugin.strip() + '\n\n')
        if self.extra_config:
            parts.append(
                '# --- extra ---\n' + self.extra_config.strip() + '\n')
        if self.install.base_config:
            return self._derive_config(''.join(parts))
        return ''.join(parts)

    def _base_config(self) -> configparser.RawConfigParser:
        parser = configparser.RawConfigParser(strict=False)
        parser.optionxform = str
        with open(self.install.base_config, encoding='utf-8') as fp:
            parser.read_file(fp)
        return parser

    def _paths_config(self) -> str:
        """The layout's paths section: all state under self.root."""
        if not self.install.base_config:
            return '[paths.here]\nvar_dir: {}\n\n'.format(self.var_dir)
        base = self._base_config()
        layout = base.get('mailman', 'layout', fallback='here')
        private = {'var_dir': str(self.var_dir), 'log_dir': '$var_dir/logs',
                   'pid_file': '$var_dir/master.pid'}
        section = 'paths.' + layout
        lines = ['[{}]'.format(section)]
        lines += ['{}: {}'.format(key, value)
                  for key, value in private.items()]
        if base.has_section(section):
            for key, value in base.items(section):
                if (key not in private and key not in _SHARED_PATHS
                        and value.startswith('/')):
                    raise MailmanStartError(
                        '{} sets {} {} outside its var_dir: the harness '
                        'cannot make it private'.format(
                            self.install.base_config, section, key))
        return '\n'.join(lines) + '\n\n'

    def _derive_config(self, own: str) -> str:
        """The base configuration with every setting of ``own`` on top."""
        merged = self._base_config()
        merged.read_string(own, source='tests.harness.instance')
        out = io.StringIO()
        out.write('# Written by tests.harness.instance from {}.\n'.format(
            self.install.base_config))
        merged.write(out)
        return out.getvalue()

    def _write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.gunicorn_config_path.write_text(
            self.install.gunicorn_config, encoding='utf-8')
        self.config_path.write_text(self.render_config(), encoding='utf-8')
        # Make the usual log files exist from the start, so tests can read
        # (and tail) them before Mailman writes anything.
        for name in ('mailman', 'smtp', 'bounce', 'plugins', 'debug'):
            (self.log_dir / (name + '.log')).touch()
        if self.install.user:
            for path in [self.root, *self.root.rglob('*')]:
                shutil.chown(path, self.install.user, self.install.user)

    def _process_env(self) -> dict:
        env = dict(os.environ)
        # MAILMAN_VAR_DIR overrides [paths.here] var_dir; never inherit it.
        env.pop('MAILMAN_VAR_DIR', None)
        env.pop('MAILMAN_CONFIG_FILE', None)
        if self.install.user:
            # Only the installed Python's own path: never the test run's.
            for key in [key for key in env if key.startswith('PYTHON')]:
                del env[key]
            env.pop('VIRTUAL_ENV', None)
        env.update(self.env)
        env[_TAG_VARIABLE] = str(self.root)
        return env

    # -- CLI ---------------------------------------------------------------

    @property
    def mailman_command(self) -> str:
        """The ``mailman`` script this instance runs."""
        return self.install.command or _mailman_executable()

    def _cli_args(self, *args: str) -> list:
        install = self.install
        cmd = []
        if install.user:
            if os.geteuid() != 0:
                raise MailmanStartError(
                    'the {} install runs Mailman as {}: only root can'.format(
                        install.name, install.user))
            cmd = ['runuser', '-u', install.user, '--']
        cmd += [self.mailman_command, '-C', str(self.config_path)]
        if os.geteuid() == 0 and not install.user:
            cmd.append('--run-as-root')
        cmd.extend(str(arg) for arg in args)
        return cmd

    def mailman(self, *args: str, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``mailman -C cfg [--run-as-root] ARGS``; capture text output."""
        if not self.config_path.exists():
            self._pick_ports()
            self._write_config()
        result = subprocess.run(
            self._cli_args(*args), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, env=self._process_env(),
            cwd=str(self.root), timeout=timeout)
        if check and result.returncode != 0:
            raise MailmanStartError(
                'mailman {} exited {}:\nstdout: {}\nstderr: {}'.format(
                    ' '.join(args), result.returncode, result.stdout,
                    result.stderr))
        return result

    # -- lifecycle ---------------------------------------------------------

    def _pick_ports(self) -> None:
        taken = {self.smtp_port}
        if not self._requested_lmtp_port:
            port = free_port()
            while port in taken:
                port = free_port()
            self.lmtp_port = port
        taken.add(self.lmtp_port)
        if not self._requested_rest_port:
            port = free_port()
            while port in taken:
                port = free_port()
            self.rest_port = port

    def start(self, timeout: float = 60) -> 'MailmanInstance':
        """Write the configuration, start Mailman and wait until it is up."""
        if self._started:
            return self
        if self.plugin and not (self.var_dir / 'antibackscatter.key').exists():
            # What docs/install.md has a site do once, before the start:
            # the plugin never creates the key file itself.
            self.mailman('antibackscatter', 'keys', 'generate')
        began = time.monotonic()
        self._pick_ports()
        self._write_config()
        # A previous run on this root that was killed leaves its pid file
        # and master lock behind; `start --force` breaks a stale lock (it
        # still refuses when a master is really running).
        leftover = self._instance_pids()
        if leftover:
            raise MailmanStartError(
                'processes of an earlier run under {} still live: {}'.format(
                    self.root, leftover))
        with contextlib.suppress(OSError):
            (self.var_dir / 'master.pid').unlink()
        start_log = self.log_dir / 'start.out'
        with open(start_log, 'ab') as out:
            # `mailman start` forks a daemon that inherits our descriptors:
            # redirect all three, or whoever reads the pipes would hang.
            proc = subprocess.Popen(
                self._cli_args('start', '--force'), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT,
                env=self._process_env(), cwd=str(self.root))
        self._started = True
        try:
            code = proc.wait(timeout=timeout)
            if code != 0:
                raise MailmanStartError(
                    '`mailman start` exited {}'.format(code))
            deadline = began + timeout
            rest_up = lmtp_up = False
            while time.monotonic() < deadline:
                if self._master_pid is None:
                    self._master_pid = self._read_master_pid()
                if not rest_up:
                    rest_up = self._rest_answers()
                if rest_up and not lmtp_up:
                    lmtp_up = _port_open(self.lmtp_port)
                if rest_up and lmtp_up:
                    break
                if self._master_pid is not None and not _alive(
                        self._master_pid):
                    raise MailmanStartError('the master process exited')
                if (self._master_pid is None
                        and time.monotonic() - began > 15
                        and not self._instance_pids()):
                    raise MailmanStartError('no Mailman process is running')
                time.sleep(0.2)
            else:
                raise MailmanStartError(
                    'timed out after {}s (REST up: {}, LMTP up: {})'.format(
                        timeout, rest_up, lmtp_up))
        except BaseException as error:
            report = self._failure_report(error)
            self.stop()
            if isinstance(error, MailmanStartError):
                raise MailmanStartError(report) from None
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _rest_answers(self) -> bool:
        try:
            response = self._session.get(
                self.rest_url + 'system/versions', timeout=2)
        except requests.RequestException:
            return False
        return response.status_code == 200

    def _read_master_pid(self) -> Optional[int]:
        try:
            return int((self.var_dir / 'master.pid').read_text().strip())
        except (OSError, ValueError):
            return None

    def _failure_report(self, error: BaseException) -> str:
        sections = ['Mailman under {} did not start: {}'.format(
            self.root, error)]
        for name in ('start.out', 'mailman.log', 'error.log', 'plugins.log'):
            path = self.log_dir / name
            tail = _tail(path)
            if tail:
                sections.append('--- tail of {} ---\n{}'.format(path, tail))
        return '\n'.join(sections)

    def _instance_pids(self) -> list:
        """PIDs of live processes that belong to this instance.

        A process belongs to us if any of these holds:

        - its command line names our config file (``-C <root>/mailman.cfg``:
          the master, every runner, the gunicorn workers forked by the REST
          runner);
        - its environment carries our tag variable (``mailman start`` and
          the master; the master does *not* pass it on to runners, it only
          keeps a fixed list of variables);
        - its session is the master's (``mailman start`` calls setsid()).
        """
        config_arg = b'\0' + str(self.config_path).encode() + b'\0'
        tag = '{}={}'.format(_TAG_VARIABLE, self.root).encode()
        master = self._master_pid
        pids = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            pid = int(entry)
            ours = False
            try:
                with open('/proc/{}/cmdline'.format(pid), 'rb') as fp:
                    ours = config_arg in b'\0' + fp.read()
                if not ours and master is not None:
                    ours = _session(pid) == master
                if not ours:
                    with open('/proc/{}/environ'.format(pid), 'rb') as fp:
                        ours = tag in fp.read().split(b'\0')
            except OSError:
                continue
            if ours and _alive(pid):
                pids.append(pid)
        return pids

    def stop(self, timeout: float = 30) -> None:
        """Stop Mailman; leave no process of this instance behind."""
        if not self._started:
            return
        began = time.monotonic()
        master = self._master_pid = (self._master_pid
                                     or self._read_master_pid())
        try:
            if master is not None and _alive(master):
                try:
                    self.mailman('stop', check=False, timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if not _alive(master) and not self._instance_pids():
                        break
                    time.sleep(0.1)
        finally:
            # Whatever is left (a hung runner, a start that never wrote its
            # pid file, gunicorn workers): terminate, then kill.
            # (Only processes identified as ours: never a recycled pid.)
            leftovers = self._instance_pids()
            if leftovers:
                _signal_all(leftovers, signal.SIGTERM)
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline and any(
                        _alive(pid) for pid in leftovers):
                    time.sleep(0.1)
                # `mailman start` made the master a session and process
                # group leader: kill the group, if it is still ours.
                if (master is not None and master in leftovers
                        and _pgid(master) == master):
                    try:
                        os.killpg(master, signal.SIGKILL)
                    except OSError:
                        pass
                _signal_all(self._instance_pids() + leftovers, signal.SIGKILL)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and any(
                        _alive(pid) for pid in leftovers):
                    time.sleep(0.1)
            self._started = False
            self._master_pid = None
            self._session.close()
            self.stop_seconds = time.monotonic() - began

    def __enter__(self) -> 'MailmanInstance':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- REST --------------------------------------------------------------

    def rest(self, method: str, path: str, data=None, json=None,
             **kwargs) -> requests.Response:
        """Call the REST API, path relative to /3.1/; never raises on 4xx."""
        if path.startswith('http://') or path.startswith('https://'):
            url = path
        else:
            url = self.rest_url + path.lstrip('/')
        kwargs.setdefault('timeout', 30)
        return self._session.request(method.upper(), url, data=data,
                                     json=json, **kwargs)

    def _rest_ok(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.rest(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError('REST {} {} -> {} {}'.format(
                method, path, response.status_code, response.text[:2000]))
        return response

    @staticmethod
    def list_id(fqdn: str) -> str:
        return fqdn.replace('@', '.', 1)

    def create_list(self, fqdn: str, *, style_name: Optional[str] = None,
                    **settings) -> None:
        """Create the domain if missing, the list, then PATCH its config."""
        domain = fqdn.split('@', 1)[1]
        if self.rest('GET', 'domains/' + domain).status_code == 404:
            self._rest_ok('POST', 'domains', data={'mail_host': domain})
        data = {'fqdn_listname': fqdn}
        if style_name:
            data['style_name'] = style_name
        self._rest_ok('POST', 'lists', data=data)
        if settings:
            self.configure_list(fqdn, **settings)

    def configure_list(self, fqdn: str, **settings) -> None:
        """PATCH list settings (JSON, so lists and booleans round-trip)."""
        self._rest_ok('PATCH', 'lists/{}/config'.format(self.list_id(fqdn)),
                      json=settings)

    def list_config(self, fqdn: str) -> dict:
        return self._rest_ok(
            'GET', 'lists/{}/config'.format(self.list_id(fqdn))).json()

    def add_member(self, list_fqdn: str, address: str, role: str = 'member',
                   display_name: Optional[str] = None,
                   pre_verified: bool = True,
                   send_welcome_message: bool = False) -> dict:
        """Subscribe ``address`` without confirmation (or welcome) mail."""
        data = {'list_id': self.list_id(list_fqdn), 'subscriber': address,
                'role': role}
        if display_name:
            data['display_name'] = display_name
        if role == 'member':
            flag = 'true' if pre_verified else 'false'
            data.update(pre_verified=flag, pre_confirmed=flag,
                        pre_approved=flag,
                        send_welcome_message=(
                            'true' if send_welcome_message else 'false'))
        response = self._rest_ok('POST', 'members', data=data)
        try:
            return response.json() if response.content else {}
        except ValueError:
            return {}

    def member(self, list_fqdn: str, address: str) -> dict:
        """The member's REST resource (bounce_score, last_bounce_received)."""
        return self._rest_ok('GET', 'lists/{}/member/{}'.format(
            self.list_id(list_fqdn), address)).json()

    def bounce_score(self, list_fqdn: str, address: str) -> int:
        return int(self.member(list_fqdn, address).get('bounce_score') or 0)

    def members(self, list_fqdn: str, role: str = 'member') -> list:
        response = self._rest_ok('GET', 'lists/{}/roster/{}'.format(
            self.list_id(list_fqdn), role))
        return [entry['email'] for entry in response.json().get('entries', [])]

    def held(self, list_fqdn: str) -> list:
        response = self._rest_ok(
            'GET', 'lists/{}/held'.format(self.list_id(list_fqdn)))
        return response.json().get('entries', [])

    def moderate(self, list_fqdn: str, request_id: Union[int, str],
                 action: str, **extra) -> requests.Response:
        """accept | reject | discard | defer a held message."""
        data = {'action': action}
        data.update(extra)
        return self._rest_ok('POST', 'lists/{}/held/{}'.format(
            self.list_id(list_fqdn), request_id), data=data)

    # -- LMTP --------------------------------------------------------------

    def inject(self, raw: Union[bytes, str], *, mail_from: str,
               rcpt_to: Union[str, Iterable[str]],
               xforward: Optional[dict] = None,
               helo: str = 'mx.test.invalid') -> dict:
        """Deliver ``raw`` over LMTP like Postfix's lmtp client.

        Returns {recipient: (code, text)}: the RCPT reply for refused
        recipients, otherwise the per-recipient reply after DATA.
        """
        if isinstance(raw, str):
            raw = raw.encode('utf-8')
        recipients = [rcpt_to] if isinstance(rcpt_to, str) else list(rcpt_to)
        log = self.last_lmtp_session = []
        self.last_data_reply_seconds = None
        replies: dict = {}
        client = smtplib.LMTP()
        try:
            code, text = client.connect(_HOST, self.lmtp_port)
            log.append(('<connect>', code, text))
            code, text = client.ehlo(helo)          # sends LHLO
            log.append(('LHLO', code, text))
            if code != 250:
                return {rcpt: (code, text) for rcpt in recipients}
            if xforward and client.has_extn('xforward'):
                args = self._xforward_args(
                    xforward, client.esmtp_features.get('xforward', ''))
                code, text = client.docmd('XFORWARD', args)
                log.append(('XFORWARD ' + args, code, text))
            code, text = client.docmd('MAIL', 'FROM:<{}>'.format(mail_from))
            log.append(('MAIL', code, text))
            if code != 250:
                return {rcpt: (code, text) for rcpt in recipients}
            accepted = []
            for rcpt in recipients:
                code, text = client.docmd('RCPT', 'TO:<{}>'.format(rcpt))
                log.append(('RCPT ' + rcpt, code, text))
                if code in (250, 251):
                    accepted.append(rcpt)
                else:
                    replies[rcpt] = (code, text)
            if not accepted:
                client.docmd('RSET')
                return replies
            code, text = client.docmd('DATA')
            log.append(('DATA', code, text))
            if code != 354:
                for rcpt in accepted:
                    replies[rcpt] = (code, text)
                return replies
            data = _normalise_data(raw)
            sent_at = time.perf_counter()
            client.send(data)
            # LMTP: one reply per accepted recipient, in RCPT order.
            for rcpt in accepted:
                code, text = client.getreply()
                if self.last_data_reply_seconds is None:
                    # from the end of the data to the first reply: the
                    # time the server took to decide (bench/e2e.py)
                    self.last_data_reply_seconds = (
                        time.perf_counter() - sent_at)
                log.append(('<data reply> ' + rcpt, code, text))
                replies[rcpt] = (code, text)
            try:
                client.quit()
            except smtplib.SMTPException:
                pass
        finally:
            client.close()
        return replies

    @staticmethod
    def _xforward_args(xforward: dict, advertised: str) -> str:
        attributes = {key.upper(): str(value)
                      for key, value in xforward.items() if value is not None}
        attributes.setdefault('PROTO', 'ESMTP')
        attributes.setdefault('SOURCE', 'REMOTE')
        order = ['NAME', 'ADDR', 'PORT', 'HELO', 'PROTO', 'IDENT', 'SOURCE']
        order += sorted(key for key in attributes if key not in order)
        # Like Postfix, send only what the server said it understands (when
        # it listed anything at all).
        understood = {word.upper() for word in advertised.split()}
        return ' '.join(
            '{}={}'.format(key, xtext(attributes[key])) for key in order
            if key in attributes and (not understood or key in understood))

    # -- queues and logs ---------------------------------------------------

    def queue_files(self, name: str) -> list:
        """Files (.pck/.bak/.psv/...) currently in queue ``name``."""
        directory = self.queue_dir / name
        try:
            return sorted(p for p in directory.iterdir() if p.is_file())
        except OSError:
            return []

    def _busy_files(self) -> list:
        busy = []
        try:
            queues = [p for p in self.queue_dir.iterdir() if p.is_dir()]
        except OSError:
            return busy
        for queue in queues:
            if queue.name in _PARKING_QUEUES:
                continue
            try:
                for entry in queue.iterdir():
                    if entry.suffix in ('.pck', '.bak', '.tmp'):
                        busy.append(entry)
            except OSError:
                continue
        return busy

    def wait_idle(self, timeout: float = 30, quiet: float = 1.0) -> None:
        """Wait until no queue has work for ``quiet`` seconds in a row.

        shunt, bad and retry are not waited on (see queue_files()).
        """
        deadline = time.monotonic() + timeout
        quiet_since: Optional[float] = None
        busy: list = []
        while True:
            now = time.monotonic()
            busy = self._busy_files()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= quiet:
                return
            if now >= deadline:
                break
            time.sleep(0.1)
        raise AssertionError(
            'Mailman queues still busy after {}s: {}\n--- error log ---\n{}'
            .format(timeout, [str(p.relative_to(self.queue_dir))
                              for p in busy],
                    _tail(self.log_dir / 'mailman.log')))

    def log(self, name: str = 'mailman') -> str:
        try:
            return (self.log_dir / (name + '.log')).read_text(
                encoding='utf-8', errors='replace')
        except OSError:
            return ''


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (zombies count as dead)."""
    try:
        with open('/proc/{}/stat'.format(pid), 'rb') as fp:
            stat = fp.read()
    except OSError:
        return False
    # The state follows the parenthesised command name.
    state = stat[stat.rfind(b')') + 2:][:1]
    return state not in (b'Z', b'X', b'')


def _session(pid: int) -> Optional[int]:
    """The session id of ``pid`` (field 6 of /proc/PID/stat)."""
    with open('/proc/{}/stat'.format(pid), 'rb') as fp:
        stat = fp.read()
    fields = stat[stat.rfind(b')') + 2:].split()
    return int(fields[3])


def _pgid(pid: int) -> Optional[int]:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in set(pids):
        try:
            os.kill(pid, sig)
        except OSError:
            pass
