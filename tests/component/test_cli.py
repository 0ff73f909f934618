"""What `mailman antibackscatter check`, `status` and `stats` print."""

from click.testing import CliRunner
from mailman.app.lifecycle import create_list
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.commands.cli_antibackscatter import (
    antibackscatter)

from tests.component.helpers import AUTHENTIC

MESSAGE = (b'From: bob@example.org\r\nTo: test@example.com\r\n'
           b'Subject: hello\r\nMessage-ID: <cli-1@example.org>\r\n\r\nHi.\r\n')


def run(*args):
    result = CliRunner().invoke(antibackscatter, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_check_says_which_envelope_sender_it_assumed(mailman, dns,
                                                     tmp_path):
    path = tmp_path / 'message.eml'
    path.write_bytes(MESSAGE)
    without = run('check', str(path), '--ip', AUTHENTIC[0])
    assert ('Mail from:    - (assumed unknown: no --mail-from and no '
            'Return-Path header)') in without
    path.write_bytes(b'Return-Path: <bob@example.org>\r\n' + MESSAGE)
    from_header = run('check', str(path), '--ip', AUTHENTIC[0])
    assert ('Mail from:    bob@example.org (assumed from the Return-Path '
            'header)') in from_header
    given = run('check', str(path), '--ip', AUTHENTIC[0], '--mail-from', '')
    assert 'Mail from:    <> (given with --mail-from)' in given


def test_status_prints_no_python_reprs(mailman):
    text = run('status')
    assert '{' not in text and "'" not in text, text
    assert 'bounces: signed return paths on, tags valid 10 days' in text


def test_status_says_disabled_when_the_site_switched_it_off(mailman,
                                                            monkeypatch):
    """install.md, turning it off: after `enabled: no`, `status` says
    DISABLED."""
    import dataclasses
    from mailman_antibackscatter.config import runtime
    assert run('status').splitlines()[0].endswith(
        ': enabled in its configuration')
    monkeypatch.setattr(runtime, '_settings', dataclasses.replace(
        runtime.get_settings(), enabled=False))
    assert run('status').splitlines()[0].endswith(
        ': DISABLED in its configuration')


def test_stats_headings_are_whole_words(mailman):
    mlist = create_list('test@example.com')
    decisions.count(mlist.list_id, 'answer-suppressed-fail', 2)
    decisions.count(mlist.list_id, 'answer-suppressed-none', 1)
    text = run('stats', mlist.list_id)
    assert 'automatic replies not sent to forged senders' in text
    assert 'automatic replies not sent to unproven senders' in text
    total = next(line for line in text.splitlines()
                 if 'forged senders' in line)
    assert total.split()[0] == '2', text
