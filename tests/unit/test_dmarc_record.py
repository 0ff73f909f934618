# SPDX-License-Identifier: GPL-3.0-or-later
"""The From domain's DMARC record, as it is published: adkim, aspf, sp,
np and pct (RFC 7489, DMARCbis), and DKIM keys in testing mode."""

from mailman_antibackscatter.auth import ClientInfo, Status

from tests.unit.engine_helpers import make_message

SPAMMER = ClientInfo('203.0.113.66', 'mx.attacker.example', 'xforward')
OUR_MX = ClientInfo('192.0.2.1', 'mx.example.com', 'xforward')


def test_adkim_strict_needs_the_same_domain(auth, signed, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT',
                   'v=DMARC1; p=none; adkim=s')
    raw = signed(make_message(), domain='mail.example.com')
    v = auth.authenticate(raw, None)
    assert v.dkim[0].result == 'pass'
    assert v.status is Status.NONE, v.reason
    raw = signed(make_message(), domain='example.com')
    assert auth.authenticate(raw, None).status is Status.PASS


def test_adkim_relaxed_is_the_default(auth, signed, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT', 'v=DMARC1; p=none')
    raw = signed(make_message(), domain='mail.example.com')
    assert auth.authenticate(raw, None).status is Status.PASS


def test_aspf_strict_needs_the_same_domain(auth, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT',
                   'v=DMARC1; p=reject; aspf=s')
    dns_server.add('bounce.example.com', 'TXT', 'v=spf1 ip4:192.0.2.0/24 -all')
    v = auth.authenticate(make_message(), 'x@bounce.example.com', OUR_MX)
    assert v.spf.result == 'pass'
    assert v.status is Status.FAIL, v.reason
    assert v.status_for('x@bounce.example.com') is Status.PASS


def test_subdomain_policy(auth, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT',
                   'v=DMARC1; p=none; sp=reject')
    raw = make_message(from_='a@sub.example.com')
    assert auth.authenticate(raw, None).status is Status.FAIL
    raw = make_message(from_='a@example.com')
    assert auth.authenticate(raw, None).status is Status.NONE


def test_non_existent_subdomain_policy(auth, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT',
                   'v=DMARC1; p=none; np=reject')
    dns_server.add('real.example.com', 'A', '192.0.2.7')
    v = auth.authenticate(make_message(from_='a@ghost.example.com'), None)
    assert v.status is Status.FAIL, v.reason
    v = auth.authenticate(make_message(from_='a@real.example.com'), None)
    assert v.status is Status.NONE, v.reason


def test_pct_below_100_takes_the_next_lower_policy(auth, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT',
                   'v=DMARC1; p=quarantine; pct=50')
    v = auth.authenticate(make_message(), None, SPAMMER)
    assert v.status is Status.NONE, v.reason
    dns_server.clear()
    auth.resolver.clear()
    dns_server.add('_dmarc.example.com', 'TXT',
                   'v=DMARC1; p=reject; pct=10')
    v = auth.authenticate(make_message(), None, SPAMMER)
    assert v.status is Status.FAIL, v.reason


def test_testing_key_counts_as_unsigned(auth, signed, rsa_key, dns_server):
    pem, txt = rsa_key
    raw = signed(make_message(), key=(pem, txt + '; t=y'))
    v = auth.authenticate(raw, None)
    assert v.dkim[0].result == 'policy'
    assert 't=y' in v.dkim[0].reason
    assert v.status is Status.NONE
