# SPDX-License-Identifier: GPL-3.0-or-later
"""Text from a message or from DNS, made one line of bounded length before
it is written anywhere a person reads it."""

from mailman_antibackscatter.text import MAX_LENGTH, one_line


def test_line_breaks_and_controls_become_one_space():
    assert one_line('header.d=evil\r\n 2025-12-01 INJECTED') == (
        'header.d=evil 2025-12-01 INJECTED')
    assert one_line('a\rb\x00c\x1bd\x7fe\x85f\u2028g\u2029h\tj') == (
        'a b c d e f g h j')


def test_bounded_length():
    text = one_line('x' * 100000)
    assert len(text) <= MAX_LENGTH
    assert text.endswith('...')
    assert one_line('y' * 50, limit=10) == 'yyyyyyy...'
    assert one_line('short', limit=10) == 'short'


def test_any_value():
    assert one_line(None) == ''
    assert one_line(b'caf\xc3\xa9\r\nx') == 'caf\u00e9 x'
    assert one_line(b'\xff\xfe') == '\ufffd\ufffd'
    assert one_line(42) == '42'
