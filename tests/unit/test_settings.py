"""The configuration file: defaults, overrides, and bad values explained."""

from configparser import ConfigParser
from datetime import timedelta

import pytest

from mailman_antibackscatter.config.settings import (
    SettingError, load_settings, parse_interval, parse_nameservers)


def parser(text):
    result = ConfigParser(interpolation=None)
    result.read_string(text)
    return result


def test_shipped_defaults_are_protective():
    settings = load_settings(None)
    assert settings.enabled and settings.door_enabled
    assert settings.answer == 'proven'
    assert settings.reject_unproven == 'discard'
    assert settings.forged_member == 'hold'
    assert settings.owner_forged == 'hold'
    assert settings.unproven_commands == 'ignore'
    assert settings.authenticated_membership
    assert settings.engine.alignment == 'relaxed'
    assert settings.engine.nameservers == ()
    assert settings.window == timedelta(days=1)
    assert settings.problems == ()


def test_site_file_overrides_only_what_it_names():
    settings = load_settings(parser(
        '[policy]\nreject_unproven: hold\n'
        '[dns]\nnameservers: 127.0.0.1:5353, [::1]:53 192.0.2.1\n'
        '[antibackscatter]\ntrusted_arc_sealers: Relay.Example.EDU.\n'))
    assert settings.reject_unproven == 'hold'
    assert settings.forged_member == 'hold'
    assert settings.engine.nameservers == (
        ('127.0.0.1', 5353), ('::1', 53), ('192.0.2.1', 53))
    assert settings.engine.trusted_arc_sealers == {'relay.example.edu'}


def test_bad_values_are_reported_and_defaults_kept():
    settings = load_settings(parser(
        '[policy]\nanswer: everybody\n[ratelimit]\nwindow: soon\n'
        '[dns]\ntimeout: -1\n[nosuch]\nx: 1\n[door]\nworkerz: 3\n'))
    assert settings.answer == 'proven'
    assert settings.window == timedelta(days=1)
    assert settings.engine.dns_timeout == 5
    text = '\n'.join(settings.problems)
    assert '[policy] answer' in text and 'everybody' in text
    assert '[ratelimit] window' in text
    assert '[dns] timeout' in text
    assert 'unknown section [nosuch]' in text
    assert 'unknown option [door] workerz' in text


@pytest.mark.parametrize('text, expected', [
    ('1d', timedelta(days=1)), ('12h', timedelta(hours=12)),
    ('30m', timedelta(minutes=30)), ('90', timedelta(seconds=90)),
    ('2w', timedelta(weeks=2))])
def test_intervals(text, expected):
    assert parse_interval(text) == expected


@pytest.mark.parametrize('text', ['host:99999', 'a:b:c', '[::1'])
def test_bad_nameservers(text):
    with pytest.raises(SettingError):
        parse_nameservers(text)


def test_settings_that_switch_protection_off_are_reported():
    settings = load_settings(parser(
        '[policy]\nanswering_runners: in pipeline\n'
        '[ratelimit]\nwindow: 0\n'
        '[antibackscatter]\nauthserv_id: mx.example.org\n'
        'trusted_authserv_ids: mx.example.org\n'))
    text = '\n'.join(settings.problems)
    assert 'answering_runners lacks command' in text
    assert 'window is 0' in text
    assert 'mx.example.org is also in trusted_authserv_ids' in text


def test_default_authserv_id_is_the_plugins_own():
    assert load_settings(None).engine.authserv_id.startswith(
        'antibackscatter.')


def test_bounce_options():
    settings = load_settings(None)
    assert settings.bounces_enabled
    assert settings.tag_lifetime_days == 10
    assert settings.grace_period == timedelta(days=7)
    settings = load_settings(parser(
        '[bounces]\ntag_lifetime: 2w\ngrace_period: 0\n'))
    assert settings.tag_lifetime_days == 14
    assert not settings.grace_period
    for bad in ('12h', '0d', '400d', 'soon'):
        settings = load_settings(parser('[bounces]\ntag_lifetime: {}\n'
                                        .format(bad)))
        assert settings.tag_lifetime_days == 10
        assert any('tag_lifetime' in p for p in settings.problems)


@pytest.mark.parametrize('text', ['99999999999w', '999999999d', '9' * 5000])
def test_an_interval_too_large_is_a_problem_not_a_crash(text):
    settings = load_settings(parser(
        '[summary]\ninterval: {0}\n[ratelimit]\nwindow: {0}\n'.format(text)))
    assert settings.summary_interval == timedelta(days=1)
    assert settings.window == timedelta(days=1)
    assert len(settings.problems) == 2


def test_trust_boundary_options():
    settings = load_settings(None)
    assert settings.engine.local_hops == 0
    assert settings.xforward_peers == ('127.0.0.0/8', '::1/128')
    settings = load_settings(parser(
        '[antibackscatter]\ninternal_networks: 10.0.0.0/8\nlocal_hops: 2\n'
        '[door]\nxforward_peers: 192.0.2.25\n'))
    assert settings.engine.local_hops == 2
    assert settings.xforward_peers == ('192.0.2.25/32', '10.0.0.0/8')
    settings = load_settings(parser('[antibackscatter]\nlocal_hops: -1\n'))
    assert settings.engine.local_hops == 0 and settings.problems
