"""`status` reports the running Mailman, not the process that asks.

Each runner writes a heartbeat at start (what it loaded: pid, time, the
digest of its settings, the wrappers it installed).  `status` and REST read
them: running with the current settings, running with settings older than
the configuration file, or not running at all.
"""

import json

import pytest

from tests.harness.scenario import World

pytestmark = pytest.mark.e2e


def status(world):
    result = world.mailman.mailman('antibackscatter', 'status', '--json')
    return json.loads(result.stdout)


def status_text(world):
    return world.mailman.mailman('antibackscatter', 'status')


def test_status_from_running_stale_and_stopped_mailman(tmp_path):
    world = World(tmp_path / 'world')
    world.start()
    try:
        info = status(world)
        running = info['running']
        assert running['state'] == 'running', running
        runners = {r['name']: r for r in running['runners']}
        assert runners['lmtp']['runner_class'].endswith('AuthenticatingLMTPRunner')
        assert all(r['current'] for r in runners.values()), runners
        assert all(r['alive'] for r in runners.values()), runners
        assert all(all(r['wrapped'].values()) for r in runners.values())
        assert 'Mailman is running' in status_text(world).stdout
        rest = world.mailman.rest('GET', 'plugins/antibackscatter').json()
        assert rest['running']['state'] == 'running', rest['running']

        # The configuration changes; the runners still run the old one.
        config_path = world.root / 'antibackscatter.cfg'
        config_path.write_text(config_path.read_text()
                               + '\n[ratelimit]\nper_recipient: 7\n')
        stale = status(world)['running']
        assert stale['state'] == 'not-restarted', stale
        assert not any(r['current'] for r in stale['runners'])
        text = status_text(world).stdout
        assert 'restart Mailman' in text, text

        # A file that cannot be read: in status and in the plugin's log.
        config_path.write_text('this is not an ini file\n')
        broken = world.mailman.mailman('antibackscatter', 'status')
        problem = 'cannot read the configuration file {}'.format(config_path)
        assert problem in broken.stdout + broken.stderr
        assert problem in json.dumps(status(world)['configuration_problems'])
        assert problem in world.mailman.log('antibackscatter')
    finally:
        world.stop()
    stopped = status(world)['running']
    assert stopped['state'] == 'not-running', stopped
    assert 'Mailman is not running' in status_text(world).stdout
