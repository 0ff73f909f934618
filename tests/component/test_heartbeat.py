"""Runner heartbeats and what `status` concludes from them."""

import os
import subprocess
import sys
import time

from mailman.config import config
from mailman_antibackscatter.app import heartbeat
from mailman_antibackscatter.app.status import loaded
from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.config.settings import load_settings


def test_runner_name_from_mailmans_command_line():
    assert heartbeat.runner_name(
        ['/opt/mailman/venv/bin/runner', '-C', 'm.cfg',
         '--runner=lmtp:0:1']) == ('lmtp', '0')
    assert heartbeat.runner_name(['runner', '-r', 'in:1:4']) == ('in', '1')
    assert heartbeat.runner_name(['mailman', 'status']) is None
    assert heartbeat.runner_name(['pytest', '-r', 'a']) is None


def test_the_digest_is_the_same_in_another_process():
    """Sets of strings print in another order in each process (hash
    randomization); the digest must not depend on it."""
    code = ('from mailman_antibackscatter.app.heartbeat import '
            'settings_digest\n'
            'from mailman_antibackscatter.config.settings import '
            'load_settings\n'
            'print(settings_digest(load_settings(None)))\n')
    digests = {subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True,
        check=True, env=dict(os.environ, PYTHONHASHSEED=str(seed))
        ).stdout.strip() for seed in (1, 2, 3)}
    assert digests == {heartbeat.settings_digest(load_settings(None))}


def test_states_from_heartbeats(mailman, tmp_path):
    digest = heartbeat.settings_digest(get_settings())
    assert heartbeat.running(digest, tmp_path)['state'] == 'not-running'
    # A master runs (this process stands for it) but no runner loaded us.
    with open(config.PID_FILE, 'w') as handle:
        handle.write(str(os.getpid()))
    try:
        found = heartbeat.running(digest, tmp_path)
        assert found['state'] == 'plugin-not-loaded'
        assert 'restart Mailman' in found['message']
    finally:
        os.remove(config.PID_FILE)
    # A live runner (a child whose command line names a runner).
    child = subprocess.Popen([sys.executable, '-c',
                              'import time; time.sleep(60)', 'runner'])
    try:
        # Until the child has exec'd, /proc shows the parent's command line.
        for _ in range(200):
            with open('/proc/{}/cmdline'.format(child.pid), 'rb') as proc:
                if b'runner' in proc.read():
                    break
            time.sleep(0.05)
        record = loaded('lmtp')
        heartbeat.write('lmtp', '0', record, tmp_path)
        path = tmp_path / heartbeat.DIRECTORY / 'lmtp-0.json'
        text = path.read_text().replace(
            '"pid": {}'.format(os.getpid()), '"pid": {}'.format(child.pid))
        path.write_text(text)
        found = heartbeat.running(digest, tmp_path)
        assert found['state'] == 'running', found
        assert found['runners'][0]['runner_class'].endswith(
            'AuthenticatingLMTPRunner')
        stale = heartbeat.running('another digest', tmp_path)
        assert stale['state'] == 'not-restarted'
        assert 'lmtp' in stale['message']
    finally:
        child.kill()
        child.wait()
    # Its process is gone: the heartbeat left on disk counts for nothing.
    assert heartbeat.running(digest, tmp_path)['state'] == 'not-running'
