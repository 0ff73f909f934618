# SPDX-License-Identifier: GPL-3.0-or-later
"""The trust boundary: what the site's own MTA saw, never what the sender
wrote.  A HELO name, a Received header the client wrote below ours, or an
Authentication-Results header below the boundary never moves it."""

import pytest
from engine_helpers import make_message

from mailman_antibackscatter.auth import ClientInfo, Status
from mailman_antibackscatter.auth.headers import parse_headers, parse_received
from mailman_antibackscatter.auth import trustzone

# The MTA's own Received for a client at 203.0.113.66 that said
# "HELO [127.0.0.1]" (Postfix writes the HELO first, then its TCP info).
MTA_HELO_LOOPBACK = (
    'Received: from [127.0.0.1] (unknown [203.0.113.66])\r\n'
    '\tby mx.example.net (Postfix) with ESMTP id 4AbC;\r\n'
    '\tMon, 1 Dec 2025 10:00:00 +0000')
# What the attacker put into DATA below it.
FORGED_BELOW = [
    'Authentication-Results: mx.example.net; dkim=pass '
    'header.d=victim.example; spf=pass smtp.mailfrom=victim.example',
    'Received: from mail.victim.example (mail.victim.example '
    '[198.51.100.7])\r\n\tby relay.victim.example; Mon, 1 Dec 2025',
]
LOCAL = ('Received: from mx.example.net (localhost [127.0.0.1])\r\n'
         '\tby lists.example.net (Postfix) with ESMTP id 9; Mon')
EXT = ('Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n'
       '\tby mx.example.net (Postfix) with ESMTPS id 4AB; Mon')
PICKUP = 'Received: by mx.example.net (Postfix, from userid 1000) id 1; Mon'


@pytest.fixture
def victim(dns_server):
    dns_server.add('victim.example', 'TXT', 'v=spf1 ip4:198.51.100.7 -all')
    dns_server.add('_dmarc.victim.example', 'TXT', 'v=DMARC1; p=reject')


def forged_post(top=MTA_HELO_LOOPBACK):
    return make_message(from_='Boss <boss@victim.example>',
                        extra=[top] + FORGED_BELOW)


@pytest.mark.parametrize('value, expected', [
    # Postfix: the client chose the HELO "[127.0.0.1]"
    ('from [127.0.0.1] (unknown [203.0.113.66]) by mx (Postfix)',
     '203.0.113.66'),
    ('from [IPv6:::1] (unknown [IPv6:2001:db8::66]) by mx (Postfix)',
     '2001:db8::66'),
    # Exim writes the HELO as helo=, which may be an address literal
    ('from [203.0.113.66] (port=4711 helo=[127.0.0.1]) by mx (Exim 4.96)',
     '203.0.113.66'),
    ('from rdns.example ([203.0.113.66]:4711 helo=[127.0.0.1]) by mx',
     '203.0.113.66'),
    # Sendmail with an ident user that looks like an address: ambiguous
    ('from h (x[127.0.0.1]@rdns.example [203.0.113.66]) by mx (8.15.2)',
     None),
    # Exim with no host name and no HELO writes the address itself
    ('from [127.0.0.1] by mx (Postfix) with ESMTP', '127.0.0.1'),
])
def test_received_ip_is_the_mtas_tcp_info_not_the_helo(value, expected):
    assert parse_received(value)[0] == expected


def test_received_helo_with_tcp_info_words_is_not_the_ip():
    # A HELO literal followed by junk instead of TCP info: nobody recorded.
    value = 'from [127.0.0.1] junk (unknown [203.0.113.66]) by mx (Postfix)'
    assert parse_received(value) == (None, None)


def test_loopback_helo_does_not_move_the_boundary(make_auth, victim):
    """B.1 without XFORWARD: the client is the MTA's TCP info."""
    auth = make_auth()
    v = auth.authenticate(forged_post(), 'boss@victim.example')
    assert v.client == ClientInfo('203.0.113.66', '[127.0.0.1]', 'received')
    assert v.status_for('boss@victim.example') is Status.FAIL


def test_forged_trusted_results_below_the_boundary(make_auth, victim):
    """B.1 with XFORWARD and trusted_authserv_ids: the forged A-R lies
    below the MTA's own hop and is not believed."""
    auth = make_auth(trusted_authserv_ids=frozenset({'mx.example.net'}))
    client = ClientInfo('203.0.113.66', '[127.0.0.1]', 'xforward')
    v = auth.authenticate(forged_post(), 'boss@victim.example', client)
    assert not v.trusted_results
    assert v.status_for('boss@victim.example') is Status.FAIL
    stamped = auth.stamp(forged_post(), v)
    assert b'mx.example.net; dkim=pass' not in stamped


def test_unparsable_received_ends_the_walk(make_auth, victim):
    """A local submission (no client recorded): nothing below is read."""
    auth = make_auth(local_hops=3,
                     trusted_authserv_ids=frozenset({'mx.example.net'}))
    v = auth.authenticate(forged_post(top=PICKUP), 'boss@victim.example')
    assert v.client == ClientInfo(None, None, 'unknown')
    assert not v.trusted_results
    assert v.status_for('boss@victim.example') is not Status.PASS


def test_local_hops_bound_the_walk(make_auth, victim):
    """Below the configured number of local hops nothing is believed."""
    raw = forged_post(top=LOCAL)
    v = make_auth().authenticate(raw, 'boss@victim.example')
    assert v.client == ClientInfo(None, None, 'unknown')
    assert v.status_for('boss@victim.example') is not Status.PASS
    # A content filter that re-injects counts as hops the site allows.
    raw = make_message(extra=[LOCAL, LOCAL, EXT])
    v = make_auth(local_hops=2).authenticate(raw, 'a@example.com')
    assert v.client == ClientInfo('192.0.2.10', 'mail.example.com',
                                  'received')
    v = make_auth(local_hops=1).authenticate(raw, 'a@example.com')
    assert v.client == ClientInfo(None, None, 'unknown')


def test_only_local_hops_name_no_client(make_auth):
    raw = make_message(extra=[LOCAL])
    v = make_auth(local_hops=2).authenticate(raw, 'a@example.com')
    assert v.client == ClientInfo(None, None, 'unknown')


def test_bare_cr_in_the_header_block_is_malformed(auth, dns_server):
    """B.8: Python's parser splits on a bare CR, so the door and Mailman
    would see different headers; such a message proves nobody."""
    dns_server.add('example.com', 'TXT', 'v=spf1 ip4:192.0.2.10 -all')
    raw = make_message(extra=[EXT, 'X-Note: hi\rFrom: boss@victim.example'])
    _headers, _offset, _sep, problems = parse_headers(raw)
    assert any('bare CR' in p for p in problems)
    v = auth.authenticate(raw, 'bounce@example.com')
    assert v.from_address is None and v.status is not Status.PASS
    assert 'bare CR' in v.reason


@pytest.mark.parametrize('attributes, expected', [
    ({'ADDR': '203.0.113.9', 'HELO': 'h.example'},
     ClientInfo('203.0.113.9', 'h.example', 'xforward')),
    ({'ADDR': 'IPv6:2001:db8::9'},
     ClientInfo('2001:db8::9', None, 'xforward')),
    ({'ADDR': '[UNAVAILABLE]'}, None),
    ({'ADDR': '203.0.113.9\n2025-12-01 fake line'}, None),
    ({'ADDR': 'not-an-ip'}, None),
    ({'ADDR': '203.0.113.9', 'HELO': 'x\r\ny'},
     ClientInfo('203.0.113.9', None, 'xforward')),
    ({'ADDR': '203.0.113.9', 'HELO': 'h' * 300},
     ClientInfo('203.0.113.9', None, 'xforward')),
])
def test_xforward_values_are_validated(attributes, expected):
    client, _problem = trustzone.xforward_client(attributes)
    assert client == expected


def test_xforward_problem_is_one_line():
    _client, problem = trustzone.xforward_client({'ADDR': '1.2.3.4\r\nfake'})
    assert problem and '\n' not in problem and '\r' not in problem


@pytest.mark.parametrize('value, expected', [
    ('from a (b [192.0.2.1]) by mx; Mon, 01 Dec 2025 10:00:00 +0000',
     1764583200.0),
    ('from a (b [192.0.2.1]) by mx id 1', None),
    ('from a by mx; not a date', None),
    ('from a by mx; Mon, 01 Dec 2025 10:00:00 -0000', 1764583200.0),
    ('from a by mx; Mon, 01 Dec 2025 10:00:00', 1764583200.0),  # as UTC
    ('by mx; ' + 'x' * 5000, None),
])
def test_received_time(value, expected):
    from mailman_antibackscatter.auth.headers import received_time
    assert received_time(value) == expected
