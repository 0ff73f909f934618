# SPDX-License-Identifier: GPL-3.0-or-later
"""A message whose author is not one address proves nothing; an internal
error is undecided (temperror) for the message's own From address."""

from mailman_antibackscatter.auth import ClientInfo, Status, Verdict

from tests.unit.engine_helpers import make_message


def test_without_a_single_from_nothing_is_proven(auth, dns_server):
    dns_server.add('example.com', 'TXT', 'v=spf1 ip4:192.0.2.0/24 -all')
    raw = make_message(extra=['From: mallory@attacker.example'])
    v = auth.authenticate(raw, 'bob@example.com',
                          ClientInfo('192.0.2.1', 'h', 'xforward'))
    assert v.from_address is None
    assert v.spf.result == 'pass'
    # SPF proves the envelope sender sent it, not who wrote it.
    assert v.status_for('bob@example.com') is Status.NONE
    assert v.status_for('alice@example.com') is Status.NONE


def test_a_verdict_without_from_never_passes_the_envelope_sender():
    v = Verdict(mail_from='bob@example.com', mail_from_status=Status.PASS)
    assert v.status_for('bob@example.com') is Status.NONE
    v = Verdict(mail_from='bob@example.com', mail_from_status=Status.FAIL)
    assert v.status_for('bob@example.com') is Status.FAIL


def test_leading_continuation_line_with_arc_seal(make_auth):
    # dkimpy's header parser raises IndexError on this header block.
    auth = make_auth(dns_timeout=0.5)
    raw = b' x\r\nARC-Seal: i=1\r\nFrom: a@example.org\r\n\r\nbody\r\n'
    v = auth.authenticate(raw, 'a@example.org')
    assert v.from_address == 'a@example.org'
    assert v.arc.result == 'fail' and 'unparsable' in v.arc.reason
    assert 'internal error' not in v.reason


def test_internal_error_is_temperror_for_the_from_address(auth):
    def broken(*args):
        raise ZeroDivisionError('a bug of ours')
    auth.spf.check = broken
    v = auth.authenticate(make_message(), 'bob@example.com')
    assert v.from_address == 'alice@example.com'
    assert v.status is Status.TEMPERROR
    assert v.status_for('alice@example.com') is Status.TEMPERROR
    assert 'internal error' in v.reason
