"""The per-list option registry: kinds, validation, input spellings."""

from datetime import timedelta

import pytest

from mailman_antibackscatter.app.list_policy import (
    OPTIONS, SITE_ONLY, format_interval, option, validate)
from mailman_antibackscatter.config.settings import (
    SettingError, _parser_from_defaults, load_settings)


def test_every_option_has_a_site_default_of_its_kind():
    defaults = _parser_from_defaults()
    site = load_settings(None)
    for key, opt in OPTIONS.items():
        text = defaults.get(opt.section, opt.option)
        value = opt.parse(text)
        assert getattr(site, key) == value, key
        assert isinstance(opt.to_json(value), dict(
            boolean=bool, integer=int, choice=str, text=str)[opt.kind]), key
        # The stored spelling of the default validates back to itself.
        assert opt.parse(opt.to_text(opt.to_json(value))) == value, key


def test_no_option_is_both_per_list_and_site_only():
    assert not set(OPTIONS) & set(SITE_ONLY)


def test_owner_notices_choices():
    assert option('owner_notices').choices == [
        'immediate', 'not-forged', 'authenticated-only', 'summary', 'none']


@pytest.mark.parametrize('key, given, stored', [
    ('enabled', True, 'yes'),
    ('enabled', False, 'no'),
    ('enabled', 'Yes', 'yes'),
    ('enabled', '0', 'no'),
    ('enabled', 'false', 'no'),
    ('ratelimit_per_recipient', 5, '5'),
    ('ratelimit_per_recipient', '12', '12'),
    ('owner_notices', ' Summary ', 'summary'),
    ('summary_interval', '12h', '12h'),
    ])
def test_accepted_spellings(key, given, stored):
    assert validate({key: given}) == {key: stored}


@pytest.mark.parametrize('key, given, message', [
    ('owner_notices', 'sometimes', 'owner_notices: must be one of '
     'immediate, not-forged, authenticated-only, summary, none'),
    ('enabled', 'perhaps', 'enabled: expected yes or no'),
    ('enabled', 3, 'enabled: expected true or false'),
    ('ratelimit_per_domain', -1, 'ratelimit_per_domain: expected a number'),
    ('ratelimit_per_domain', True, 'ratelimit_per_domain: expected a whole'),
    ('ratelimit_per_domain', 1.5, 'ratelimit_per_domain: expected a whole'),
    ('summary_interval', '0', 'summary_interval: expected an interval '
     'above 0'),
    ('summary_interval', 7, 'summary_interval: expected text'),
    # Too large for a timedelta, or for the date arithmetic of the summary.
    ('summary_interval', '99999999999w', 'summary_interval: expected an '
     'interval of at most'),
    ('summary_interval', '999999999d', 'summary_interval: expected an '
     'interval of at most'),
    ('summary_interval', '9' * 5000, 'summary_interval: expected an '
     'interval'),
    ('answer', None, None),
    ('nameservers', '127.0.0.1', 'nameservers: site-only'),
    ('bogus', 'x', 'bogus: unknown option'),
    ])
def test_refused_values_name_the_field(key, given, message):
    if message is None:                      # None removes an override
        assert validate({key: given}) == {key: None}
        return
    with pytest.raises(SettingError) as caught:
        validate({key: given})
    assert str(caught.value).startswith(message), str(caught.value)


def test_form_empty_value_removes_only_non_text_keys():
    assert validate(dict(enabled='', answer=''), form=True) == dict(
        enabled=None, answer=None)
    with pytest.raises(SettingError):
        validate(dict(summary_interval=''), form=True)
    with pytest.raises(SettingError):
        validate(dict(enabled=''))           # JSON '' is a bad boolean


@pytest.mark.parametrize('interval, text', [
    (timedelta(days=1), '1d'), (timedelta(hours=12), '12h'),
    (timedelta(weeks=2), '2w'), (timedelta(seconds=90), '90s'),
    (timedelta(minutes=30), '30m')])
def test_intervals_are_shown_as_written(interval, text):
    assert format_interval(interval) == text
