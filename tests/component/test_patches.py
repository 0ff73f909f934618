"""The places where the plugin changes Mailman must still exist.

If a Mailman upgrade moves or changes one of them, these tests fail loudly
instead of the protection silently disappearing.
"""

from unittest import mock

import pytest
from mailman.config import config
from mailman_antibackscatter import patches
from mailman_antibackscatter.chains.owner import AuthenticatedOwnerChain
from mailman_antibackscatter.chains.posting import AuthenticatedPostingChain
from mailman_antibackscatter.chains.reject import AuthenticatedRejectChain
from mailman_antibackscatter.runners.lmtp import AuthenticatingLMTPRunner
from mailman_antibackscatter.rules.moderation import (
    AuthenticatedMemberModeration, AuthenticatedNonmemberModeration)


def test_every_target_has_the_expected_signature(mailman):
    for target in patches.TARGETS:
        target.check()          # raises PatchTargetError if moved/changed


def test_outgoing_agent_swap_still_possible(mailman):
    patches.check_outgoing()


def test_outgoing_check_fails_when_deliver_stops_naming_the_agents(mailman):
    from mailman.mta import deliver as stock
    original = stock.deliver

    def deliver(mlist, msg, msgdata):
        return original(mlist, msg, msgdata)
    with mock.patch.object(stock, 'deliver', deliver):
        with pytest.raises(patches.PatchTargetError, match='looks up'):
            patches.check_outgoing()


def test_bounce_processor_swap_still_possible_and_undone(mailman):
    from mailman.model import bounce
    patches.check_bounce_processor()
    assert config.mta.verp_probes == 'no'
    with patches.verp_probes_forced():
        assert bounce.config.mta.verp_probes == 'yes'
        # Everything else is Mailman's configuration as it is.
        assert bounce.config.mta.smtp_port == config.mta.smtp_port
        assert bounce.config.db is config.db
    assert bounce.config is config
    with mock.patch.object(bounce, 'config', None):
        with pytest.raises(patches.PatchTargetError, match='config'):
            patches.check_bounce_processor()


def test_every_target_is_wrapped_once_the_plugin_runs(mailman):
    for target in patches.TARGETS:
        assert getattr(target.current(), patches.MARK, None) is not None, \
            str(target)


def test_installing_twice_changes_nothing(mailman):
    before = {str(t): t.current() for t in patches.TARGETS}
    assert patches.install_wrappers() == []
    assert {str(t): t.current() for t in patches.TARGETS} == before


def test_builtin_components_are_replaced(mailman):
    assert isinstance(config.chains['default-posting-chain'],
                      AuthenticatedPostingChain)
    assert isinstance(config.chains['default-owner-chain'],
                      AuthenticatedOwnerChain)
    assert isinstance(config.chains['reject'], AuthenticatedRejectChain)
    assert isinstance(config.rules['member-moderation'],
                      AuthenticatedMemberModeration)
    assert isinstance(config.rules['nonmember-moderation'],
                      AuthenticatedNonmemberModeration)
    assert 'forged-member' in config.rules
    assert 'antibackscatter-forged-member' in config.chains


def test_forged_member_link_sits_before_membership(mailman):
    names = [d[0] for d in AuthenticatedPostingChain._link_descriptions]
    assert names.index('banned-address') < names.index('forged-member') \
        < names.index('member-moderation')


def test_emergency_hold_of_a_forged_member_post_sends_no_notice(mailman,
                                                                dns):
    """Mailman 3.3.8 and 3.3.9 run the emergency link before bans (so
    before forged-member), 3.3.10 after them: either way the forgery is
    held and only the proven author hears of it."""
    from mailman.interfaces.requests import IListRequests
    from tests.component.helpers import SPAMMER, incoming, recipients_of
    from tests.component.test_guard import list_with_anne, run_incoming
    mlist = list_with_anne()
    mlist.emergency = True
    forged, _ = incoming(dns, sender='anne@example.org',
                         to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    assert recipients_of('virgin') == []
    assert IListRequests(mlist).count == 1
    authentic, _ = incoming(dns, sender='anne@example.org',
                            to='test@example.com', sign=True)
    run_incoming(mlist, authentic)
    assert IListRequests(mlist).count == 2
    assert [r for r, _ in recipients_of('virgin')] == [{'anne@example.org'}]


def test_a_moved_target_is_reported():
    missing = patches.Target('mailman.email.message', 'UserNotification',
                             'no_such_method', ('self',))
    try:
        missing.check()
    except patches.PatchTargetError as error:
        assert 'no_such_method' in str(error)
    else:
        raise AssertionError('a missing target was not reported')


def test_a_changed_signature_is_reported(mailman):
    changed = patches.Target('mailman.email.message', 'UserNotification',
                             'send', ('self', 'mlist'))
    try:
        changed.check()
    except patches.PatchTargetError as error:
        assert 'parameters' in str(error)
    else:
        raise AssertionError('a changed signature was not reported')


def test_runner_classes_are_the_plugins(mailman):
    assert getattr(config, 'runner.lmtp')['class'].endswith(
        'AuthenticatingLMTPRunner')
    assert getattr(config, 'runner.command')['class'].endswith(
        'AuthenticatedCommandRunner')
    assert getattr(config, 'runner.bounces')['class'].endswith(
        'GatedBounceRunner')
    assert config.mta.outgoing == 'mailman_antibackscatter.mta.deliver.deliver'


def test_admins_own_outgoing_is_reported_not_replaced(mailman, caplog):
    from mailman_antibackscatter.plugin import runner_overrides
    from mailman_antibackscatter.config.settings import load_settings
    config.push('own outgoing', '[mta]\noutgoing: site.custom.deliver\n')
    try:
        with caplog.at_level('ERROR', logger='mailman.antibackscatter'):
            overrides = runner_overrides(load_settings(None))
    finally:
        config.pop('own outgoing')
    assert 'outgoing' not in overrides
    assert 'site.custom.deliver' in caplog.text


def test_runner_classes_requested_only_when_enabled(mailman):
    from configparser import ConfigParser
    from mailman_antibackscatter.plugin import runner_overrides
    from mailman_antibackscatter.config.settings import load_settings
    config.push('stock runners', '[runner.lmtp]\nclass: '
                'mailman.runners.lmtp.LMTPRunner\n[runner.command]\nclass: '
                'mailman.runners.command.CommandRunner\n[runner.bounces]\n'
                'class: mailman.runners.bounce.BounceRunner\n[mta]\n'
                'outgoing: mailman.mta.deliver.deliver\n')
    try:
        enabled = runner_overrides(load_settings(None))
        site = ConfigParser()
        site.read_string('[antibackscatter]\nenabled: no\n')
        disabled = runner_overrides(load_settings(site))
        site = ConfigParser()
        site.read_string('[bounces]\nenabled: no\n[door]\nenabled: no\n')
        no_bounces = runner_overrides(load_settings(site))
    finally:
        config.pop('stock runners')
    assert 'AuthenticatingLMTPRunner' in enabled
    assert 'AuthenticatedCommandRunner' in enabled
    assert 'GatedBounceRunner' in enabled
    assert 'mailman_antibackscatter.mta.deliver.deliver' in enabled
    assert disabled == ''
    assert 'GatedBounceRunner' not in no_bounces
    assert 'outgoing' not in no_bounces
    assert 'LMTPRunner' not in no_bounces


def test_unreadable_site_file_falls_back_to_protective_defaults(tmp_path):
    from types import SimpleNamespace
    from mailman_antibackscatter.plugin import read_site_configuration
    path = tmp_path / 'missing.cfg'
    section = SimpleNamespace(configuration=str(path))
    parser, problem = read_site_configuration(section)
    assert parser is None
    assert problem.startswith(
        'cannot read the configuration file {} ('.format(path))
    assert '\n' not in problem


def test_an_empty_site_file_is_fine(tmp_path):
    """install.md: an empty antibackscatter.cfg is fine."""
    from types import SimpleNamespace
    from mailman_antibackscatter.config.settings import load_settings
    from mailman_antibackscatter.plugin import read_site_configuration
    path = tmp_path / 'antibackscatter.cfg'
    path.write_text('')
    parser, problem = read_site_configuration(
        SimpleNamespace(configuration=str(path)))
    assert problem is None and parser is not None
    settings = load_settings(parser)
    assert settings.problems == () and settings.enabled


def test_an_unreadable_site_file_is_a_configuration_problem(mailman,
                                                            tmp_path):
    """It reaches settings.problems, so antibackscatter.log and `status`
    report it, not only stderr."""
    from mailman_antibackscatter.app.status import status
    from mailman_antibackscatter.config import runtime
    from mailman_antibackscatter.plugin import AntiBackscatterPlugin
    path = tmp_path / 'broken.cfg'
    path.write_text('this is not an ini file\n')
    settings = runtime.get_settings()
    config.push('broken site file', '[plugin.antibackscatter]\n'
                'configuration: {}\n'.format(path))
    try:
        with mock.patch('mailman_antibackscatter.plugin.log') as log:
            AntiBackscatterPlugin().pre_hook()
        problems = status()['configuration_problems']
    finally:
        config.pop('broken site file')
        runtime.configure(settings)
        runtime.refuse(None)
    wanted = 'cannot read the configuration file {}'.format(path)
    assert any(p.startswith(wanted) for p in problems), problems
    logged = [call.args for call in log.error.call_args_list]
    assert any(wanted in args[1] for args in logged), logged


def test_every_mailman_target_passes_the_start_up_check(mailman):
    patches.check_mailman(bounces=True)


def test_the_running_mailman_is_a_tested_version(mailman):
    from mailman.version import VERSION
    assert patches.check_mailman() == VERSION
    assert VERSION in patches.TESTED_MAILMAN


@pytest.mark.parametrize('version', ['3.4.0', '3.4.0a1', '4.0.0', '3.3.7',
                                     '3.2.2', 'unknown'])
def test_a_mailman_outside_the_supported_range_is_refused(mailman,
                                                          version):
    with mock.patch('mailman.version.VERSION', version):
        with pytest.raises(patches.PatchTargetError) as error:
            patches.check_mailman()
    reason = str(error.value)
    assert version in reason and '\n' not in reason
    if version != 'unknown':
        assert 'not supported' in reason and '3.3.8' in reason


def test_a_later_33_release_is_accepted_when_the_targets_fit(mailman,
                                                             caplog):
    """A security release must not need a new plugin; the log says it
    was not tested."""
    with mock.patch('mailman.version.VERSION', '3.3.11'), \
            caplog.at_level('WARNING', logger='mailman.antibackscatter'):
        assert patches.check_mailman() == '3.3.11'
    assert 'Mailman 3.3.11 is not one of the tested versions' in caplog.text


def test_a_later_33_release_with_a_changed_target_is_refused(mailman):
    changed = patches.Target('mailman.email.message', 'UserNotification',
                             'send', ('self', 'mlist'))
    with mock.patch('mailman.version.VERSION', '3.3.11'), \
            mock.patch.object(patches, 'TARGETS', (changed,)):
        with pytest.raises(patches.PatchTargetError, match='parameters'):
            patches.check_mailman()


def test_an_overridden_method_that_moved_is_reported(mailman):
    moved = patches.Target('mailman.runners.bounce', 'BounceRunner',
                           '_dispose_renamed', ('self',))
    with mock.patch.object(patches, 'OVERRIDDEN',
                           patches.OVERRIDDEN + (moved,)):
        with pytest.raises(patches.PatchTargetError,
                           match='_dispose_renamed'):
            patches.check_mailman()


STOCK_RUNNERS = ('[runner.lmtp]\nclass: mailman.runners.lmtp.LMTPRunner\n'
                 '[runner.command]\nclass: '
                 'mailman.runners.command.CommandRunner\n[runner.bounces]\n'
                 'class: mailman.runners.bounce.BounceRunner\n[mta]\n'
                 'outgoing: mailman.mta.deliver.deliver\n')


def test_a_missing_target_installs_nothing_and_status_says_why(mailman):
    """The check runs before anything is installed: no runner class, no
    outgoing function, no wrapper, no chain; `status` names the target."""
    from click.testing import CliRunner
    from mailman.chains.reject import RejectChain
    from mailman.email.message import UserNotification
    from mailman_antibackscatter.app.status import status
    from mailman_antibackscatter.commands.cli_antibackscatter import (
        antibackscatter)
    from mailman_antibackscatter.config import runtime
    from mailman_antibackscatter.plugin import AntiBackscatterPlugin
    unwrapped_send = patches.SEND.check()
    missing = patches.Target('mailman.email.message', 'UserNotification',
                             'no_such_method', ('self',))
    settings = runtime.get_settings()
    installed_reject = config.chains['reject']
    config.push('stock runners', STOCK_RUNNERS)
    config.chains['reject'] = RejectChain()
    try:
        with mock.patch.object(UserNotification, 'send', unwrapped_send), \
                mock.patch.object(patches, 'TARGETS',
                                  patches.TARGETS + (missing,)):
            plugin = AntiBackscatterPlugin()
            plugin.pre_hook()
            plugin.post_hook()
            assert UserNotification.send is unwrapped_send
            assert type(config.chains['reject']) is RejectChain
            for runner in ('lmtp', 'command', 'bounces'):
                assert getattr(config, 'runner.' + runner)['class'] \
                    .startswith('mailman.runners.'), runner
            assert config.mta.outgoing == 'mailman.mta.deliver.deliver'
            reason = status()['not_protecting']
            assert 'no_such_method' in reason
            result = CliRunner().invoke(antibackscatter, ['status'])
    finally:
        config.chains['reject'] = installed_reject
        config.pop('stock runners')
        runtime.configure(settings)
        runtime.refuse(None)
    assert result.exit_code == 0, result.output
    assert 'NOT PROTECTING, nothing installed' in result.output
    assert 'no_such_method' in result.output



class SiteLMTPRunner(AuthenticatingLMTPRunner):
    """A site's own LMTP runner, built on the plugin's as install.md says."""


def test_a_sites_own_runner_class_is_left_and_only_a_foreign_one_reported(
        mailman, caplog):
    from mailman_antibackscatter.plugin import runner_overrides
    from mailman_antibackscatter.config.settings import load_settings
    subclass = '{}.SiteLMTPRunner'.format(__name__)
    outcomes = {}
    for class_path in (subclass, 'site.custom.LMTPRunner'):
        config.push('own lmtp', '[runner.lmtp]\nclass: {}\n'.format(
            class_path))
        caplog.clear()
        try:
            with caplog.at_level('ERROR', logger='mailman.antibackscatter'):
                overrides = runner_overrides(load_settings(None))
        finally:
            config.pop('own lmtp')
        outcomes[class_path] = ('[runner.lmtp]' in overrides, caplog.text)
    # Neither is replaced; only the class not built on the plugin's is an
    # error.
    assert outcomes[subclass] == (False, '')
    replaced, logged = outcomes['site.custom.LMTPRunner']
    assert not replaced
    assert 'site.custom.LMTPRunner' in logged
