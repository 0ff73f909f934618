"""The core wheel in a Mailman that has nothing else of this repository.

Docker is not on this machine, so docs/install.md's derived
maxking/mailman-core image is not built here; what its Dockerfile does to
Mailman's Python is done to a venv instead (tests/harness/webvenv.py):
Mailman 3.3.10 first, as the image's requirements install it, then the
wheel `make dist` builds, with a plain `pip install`.  The plugin must then
load from that wheel (not from the checkout) with the section install.md
gives, read its own file through `configuration:`, and, with a path that
does not exist, say so in `status` instead of failing quietly.
"""

import os
import textwrap

import pytest

from tests.harness.webvenv import build_wheel, install_wheel, run, site_venvs

CORE = 'mailman-antibackscatter'
WEB_STACK = ('mailman-antibackscatter-web', 'django', 'postorius',
             'django-mailman3')
# docs/install.md, section 6: the host's /opt/mailman/core/ is the
# container's /opt/mailman/; OPT_MAILMAN stands for the latter here.
EXTRA_CFG = """\
[plugin.antibackscatter]
class: mailman_antibackscatter.plugin.AntiBackscatterPlugin
enabled: yes
component_package: mailman_antibackscatter
configuration: {configuration}
"""
ANTIBACKSCATTER_CFG = """\
[antibackscatter]
internal_networks: 127.0.0.0/8, ::1/128, 172.19.199.2/32

[door]
xforward_peers: 127.0.0.0/8, ::1/128, 172.19.199.1/32
"""


@pytest.fixture(scope='module')
def core_site(tmp_path_factory):
    """(venv, what it had, what it has after the wheel went in)."""
    wheel = build_wheel('core', tmp_path_factory.mktemp('core-dist'))
    path = site_venvs()['mailman-3.3.10']
    before, after = install_wheel(path, wheel, CORE)
    return path, before, after


def mailman(venv_path, config, *args):
    """What `mailman -C config ARGS` of the venv printed (both streams)."""
    command = [venv_path / 'bin' / 'mailman', '-C', config]
    if os.geteuid() == 0:
        command.append('--run-as-root')
    env = {'PATH': '{}:/usr/bin:/bin'.format(venv_path / 'bin'),
           'PYTHONNOUSERSITE': '1', 'LANG': 'C.UTF-8'}
    result = run(command + list(args), env=env, cwd=str(config.parent),
                 timeout=300)
    # status prints configuration problems on stderr.
    return result.stdout + result.stderr


def site(directory, configuration):
    """A Mailman configuration with the section the image's entrypoint
    appends from mailman-extra.cfg."""
    (directory / 'antibackscatter.cfg').write_text(ANTIBACKSCATTER_CFG)
    config = directory / 'mailman.cfg'
    config.write_text(textwrap.dedent("""\
        [mailman]
        layout: here
        site_owner: owner@example.net

        [paths.here]
        var_dir: {var}

        """).format(var=directory / 'var')
        + EXTRA_CFG.format(configuration=configuration))
    return config


def test_the_wheel_keeps_mailman_and_brings_no_web_stack(core_site):
    path, before, after = core_site
    assert CORE in after
    assert after['mailman'] == before['mailman'] == '3.3.10'
    assert [dist for dist in WEB_STACK if dist in after] == []


def test_the_plugin_runs_from_the_wheel(core_site, tmp_path):
    path = core_site[0]
    config = site(tmp_path, tmp_path / 'antibackscatter.cfg')
    where = run([path / 'bin' / 'python', '-c',
                 'import mailman_antibackscatter.plugin as p; '
                 'print(p.__file__)'], cwd=str(tmp_path)).stdout.strip()
    assert where.startswith(str(path))
    # docs/install.md's first command (else status reports the missing key).
    mailman(path, config, 'antibackscatter', 'keys', 'generate')
    assert (tmp_path / 'var' / 'antibackscatter.key').exists()
    status = mailman(path, config, 'antibackscatter', 'status')
    assert status.splitlines()[0].endswith(': enabled in its configuration')
    assert 'Mailman is not running' in status
    assert 'CONFIGURATION PROBLEM' not in status
    assert 'mailman.email.message.UserNotification.send: guarded' in status


def test_a_configuration_path_the_site_does_not_have_is_reported(
        core_site, tmp_path):
    path = core_site[0]
    # The host's path, which the container does not have.
    missing = tmp_path / 'core' / 'antibackscatter.cfg'
    config = site(tmp_path, missing)
    status = mailman(path, config, 'antibackscatter', 'status')
    assert ('CONFIGURATION PROBLEM: cannot read the configuration file '
            '{}'.format(missing)) in status
    assert 'using the shipped defaults' in status
