"""Heartbeats: what each running Mailman runner loaded, for `status`.

`status` and REST run in a process of their own (the CLI, a REST worker),
which says nothing about the runners that handle mail.  So each runner
process writes, once its plugin hooks have run, a small JSON file in
Mailman's var directory: its pid, when it started, the digest of the
settings it loaded, its runner class and the wrappers it installed.
Reading them back tells whether Mailman runs, and whether it runs with the
configuration the files hold now or with an older one.
"""

import dataclasses
import hashlib
import json
import logging
import os
import sys
import time

from datetime import timedelta

from mailman.config import config

log = logging.getLogger('mailman.antibackscatter')

DIRECTORY = 'antibackscatter-runners'


def settings_digest(settings):
    """A short digest of *settings* that is the same in every process."""
    text = json.dumps(_canonical(settings), sort_keys=True)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def _canonical(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _canonical(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.compare}
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, timedelta):
        return value.total_seconds()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def runner_name(argv=None):
    """The runner this process is (`--runner=NAME:SLICE:RANGE`), or None.

    Mailman's master starts each runner as `runner -C cfg --runner=spec`.
    """
    argv = sys.argv if argv is None else argv
    if not argv or os.path.basename(argv[0]) != 'runner':
        return None
    for index, arg in enumerate(argv):
        spec = None
        if arg.startswith('--runner='):
            spec = arg[len('--runner='):]
        elif arg in ('--runner', '-r') and index + 1 < len(argv):
            spec = argv[index + 1]
        if spec:
            name, _, rest = spec.partition(':')
            return name, rest.partition(':')[0] or '0'
    return None


def _directory(var_dir=None):
    return os.path.join(var_dir or config.VAR_DIR, DIRECTORY)


def write(name, slice_, info, var_dir=None):
    """Write this runner's heartbeat (atomically); errors are logged."""
    directory = _directory(var_dir)
    path = os.path.join(directory, '{}-{}.json'.format(name, slice_))
    record = dict(info, name=name, slice=slice_, pid=os.getpid(),
                  started=time.time())
    try:
        os.makedirs(directory, exist_ok=True)
        temporary = '{}.{}.tmp'.format(path, os.getpid())
        with open(temporary, 'w', encoding='utf-8') as handle:
            json.dump(record, handle, sort_keys=True)
        os.replace(temporary, path)
    except OSError as error:
        log.error('cannot write the heartbeat %s (%s); status will not '
                  'see this runner', path, error)


def read_all(var_dir=None):
    """Every heartbeat on disk, each with `alive` (its pid runs)."""
    directory = _directory(var_dir)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for filename in names:
        if not filename.endswith('.json'):
            continue
        try:
            with open(os.path.join(directory, filename),
                      encoding='utf-8') as handle:
                record = json.load(handle)
            pid = int(record['pid'])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        record['alive'] = _alive(pid)
        found.append(record)
    return found


def _alive(pid):
    """Does *pid* run, and is it a Mailman runner (not a reused pid)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open('/proc/{}/cmdline'.format(pid), 'rb') as handle:
            command = handle.read()
    except OSError:
        return True
    return b'runner' in command


def master_pid():
    """The pid of Mailman's running master, or None."""
    try:
        with open(config.PID_FILE, encoding='ascii') as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def running(digest, var_dir=None):
    """What the running Mailman loaded, compared with *digest* (the
    settings the configuration files give now)."""
    master = master_pid()
    runners = [dict(r, current=r.get('digest') == digest)
               for r in read_all(var_dir) if r['alive']]
    if not runners:
        if master is None:
            state = 'not-running'
            message = 'Mailman is not running (no master, no runner alive).'
        else:
            state = 'plugin-not-loaded'
            message = ('Mailman is running (master pid {}) but no runner '
                       'has loaded the plugin: restart Mailman '
                       '(`mailman restart`) after enabling it.'.format(
                           master))
    elif all(r['current'] for r in runners):
        state = 'running'
        message = ('Mailman is running: {} runners loaded the plugin with '
                   'the current configuration.'.format(len(runners)))
    else:
        state = 'not-restarted'
        stale = sorted(r['name'] for r in runners if not r['current'])
        message = ('Mailman was not restarted after its configuration '
                   'changed: {} run with older settings; restart Mailman '
                   '(`mailman restart`).'.format(', '.join(stale)))
    return dict(state=state, message=message, master_pid=master,
                settings_digest=digest, runners=runners)
