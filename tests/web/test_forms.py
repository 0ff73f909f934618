"""The settings form and the chart, without any server (pure conversion)."""

import xml.etree.ElementTree as ET

from mailman_antibackscatter.web import chart
from mailman_antibackscatter.web.forms import SenderAuthenticationForm

# The shape of Mailman's GET answer (CONTRACTS.md).
OPTIONS = {
    'enabled': {'type': 'boolean', 'choices': None, 'site_only': False},
    'answer': {'type': 'choice', 'choices': ['proven', 'not-forged', 'all'],
               'site_only': False},
    'owner_notices': {'type': 'choice', 'choices': [
        'immediate', 'not-forged', 'authenticated-only', 'summary', 'none'],
        'site_only': False},
    'ratelimit_per_recipient': {'type': 'integer', 'choices': None,
                                'site_only': False},
    'ratelimit_window': {'type': 'text', 'choices': None, 'site_only': False},
    'future_option': {'type': 'choice', 'choices': ['a', 'b'],
                      'site_only': False},
}
SITE = {'enabled': True, 'answer': 'proven', 'owner_notices': 'not-forged',
        'ratelimit_per_recipient': 10, 'ratelimit_window': '1d',
        'future_option': 'a'}


def make(data=None, overrides=None):
    return SenderAuthenticationForm(
        data, options=OPTIONS, overrides=overrides or {}, site_defaults=SITE)


def test_site_default_is_the_first_choice_and_names_the_site_value():
    form = make()
    assert form.fields['answer'].choices[0] == ('', 'Site default (proven)')
    assert form.fields['enabled'].choices[0] == ('', 'Site default (yes)')
    assert form.fields['ratelimit_per_recipient'].widget.attrs[
        'placeholder'] == 'Site default (10)'
    # Nothing overridden: every field starts on "follow the site".
    assert all(form.initial[name] == '' for name in form.fields)


def test_owner_labels_and_unknown_options_still_shown():
    form = make()
    assert form.fields['answer'].label == 'Who may get automatic replies'
    assert 'proven' in str(form.fields['answer'].help_text)
    assert form.fields['future_option'].label == 'Future option'



def test_initial_values_come_from_the_lists_overrides():
    form = make(overrides={'enabled': False, 'answer': 'all',
                           'ratelimit_per_recipient': 3})
    assert form.initial['enabled'] == 'no'
    assert form.initial['answer'] == 'all'
    assert form.initial['ratelimit_per_recipient'] == '3'
    assert form.initial['owner_notices'] == ''


def test_overrides_are_the_full_form_encoded_set():
    form = make({'enabled': 'no', 'answer': '', 'owner_notices': 'summary',
                 'ratelimit_per_recipient': '25', 'ratelimit_window': ' 2d ',
                 'future_option': ''})
    assert form.is_valid(), form.errors
    assert form.overrides() == {'enabled': 'no', 'owner_notices': 'summary',
                                'ratelimit_per_recipient': '25',
                                'ratelimit_window': '2d'}


def test_all_site_defaults_give_no_overrides():
    form = make({name: '' for name in OPTIONS})
    assert form.is_valid(), form.errors
    assert form.overrides() == {}


def test_values_outside_the_options_are_refused():
    form = make({'answer': 'everyone', 'enabled': 'maybe',
                 'ratelimit_per_recipient': '-1'})
    assert not form.is_valid()
    assert set(form.errors) == {'answer', 'enabled', 'ratelimit_per_recipient'}
    form = make({'ratelimit_per_recipient': 'ten'})
    assert not form.is_valid()
    assert 'ratelimit_per_recipient' in form.errors


def _series(days, **values):
    return [dict({'day': '2026-11-{:02d}'.format(day + 1)},
                 **{key: value[day] for key, value in values.items()})
            for day in range(days)]


def test_chart_is_well_formed_svg_with_one_bar_per_nonzero_count():
    series = _series(30, backscatter_suppressed=[0] * 28 + [4, 2],
                     bounces_dropped=[1] + [0] * 29)
    svg = chart.render(series)
    root = ET.fromstring(svg)
    ns = '{http://www.w3.org/2000/svg}'
    bars = [r for r in root.iter(ns + 'rect') if 'bar' in r.get('class', '')]
    assert len(bars) == 3
    heights = {b.find(ns + 'title').text: float(b.get('height'))
               for b in bars}
    four = [h for t, h in heights.items() if t.startswith('2026-11-29: 4')]
    two = [h for t, h in heights.items() if t.startswith('2026-11-30: 2')]
    assert four and two and abs(four[0] - 2 * two[0]) < 0.01
    assert 'Automatic replies to forged senders not sent (6)' in svg
    assert 'Bounces of mail the list never sent dropped (1)' in svg


def test_chart_of_a_quiet_month_has_no_bars_and_a_scale():
    svg = chart.render(_series(30, backscatter_suppressed=[0] * 30))
    root = ET.fromstring(svg)
    assert not [r for r in root.iter('{http://www.w3.org/2000/svg}rect')
                if 'bar' in r.get('class', '')]
    assert root.get('aria-label').startswith('Last 30 days')


def test_chart_escapes_what_it_is_given():
    svg = chart.render([{'day': '<script>', 'backscatter_suppressed': 1}])
    ET.fromstring(svg)
    assert '<script>' not in svg


def _tick_labels(svg):
    root = ET.fromstring(svg)
    ns = '{http://www.w3.org/2000/svg}'
    return [t.text for t in root.iter(ns + 'text')
            if t.get('text-anchor') == 'end']


def test_count_axis_has_integer_ticks_only():
    for peak in (1, 2, 3, 5, 7, 13):
        labels = _tick_labels(chart.render(_series(
            3, backscatter_suppressed=[0, peak, 1])))
        assert labels and all(label.isdigit() for label in labels), (
            peak, labels)
        assert str(max(int(label) for label in labels)) == labels[-1]
        assert int(labels[-1]) >= peak


def test_chart_shows_the_cost_to_unproven_senders():
    svg = chart.render(_series(2, unproven_unanswered=[1, 2]))
    assert 'Automatic replies to unproven senders not sent (3)' in svg


def test_totals_use_singular_and_plural():
    from mailman_antibackscatter.web.views import totals
    lines = dict((key, text) for key, text in totals(
        {'notices_sent': 1, 'posts_discarded': 2}))
    assert lines['notices_sent'] == '1 automatic message sent (replies ' \
        'and owner notices)'
    assert lines['posts_discarded'] == '2 posts discarded'
    assert lines['backscatter_suppressed'].startswith(
        '0 automatic replies not sent to forged senders')
