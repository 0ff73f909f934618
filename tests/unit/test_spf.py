# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from mailman_antibackscatter.auth import ClientInfo, Status

from engine_helpers import make_message

CLIENT = ClientInfo('192.0.2.10', 'mail.example.com', 'xforward')


@pytest.mark.parametrize('record, expected', [
    ('v=spf1 ip4:192.0.2.0/24 -all', 'pass'),
    ('v=spf1 ip4:198.51.100.0/24 -all', 'fail'),
    ('v=spf1 ip4:198.51.100.0/24 ~all', 'softfail'),
    ('v=spf1 ip4:198.51.100.0/24 ?all', 'neutral'),
    ('v=spf1 a:mail.example.com mx -all', 'pass'),
    ('v=spf1 ip4:192.0.2.0/24 bogus:xx -all', 'permerror'),
])
def test_spf_results(auth, dns_server, record, expected):
    dns_server.add('example.com', 'TXT', record)
    dns_server.add('mail.example.com', 'A', '192.0.2.10')
    dns_server.add('example.com', 'MX', '10 mail.example.com.')
    v = auth.authenticate(make_message(), 'bounce@example.com', CLIENT)
    assert v.spf.result == expected
    assert v.spf.identity == 'mailfrom' and v.spf.domain == 'example.com'
    status = {'pass': Status.PASS, 'fail': Status.FAIL}.get(expected, Status.NONE)
    assert v.status_for('bounce@example.com') == status
    assert v.status == status     # From alice@example.com aligns


def test_spf_none_without_record(auth, dns_server):
    v = auth.authenticate(make_message(), 'bounce@example.com', CLIENT)
    assert v.spf.result == 'none' and v.status == Status.NONE


def test_spf_none_without_client_ip(auth, dns_server):
    dns_server.add('example.com', 'TXT', 'v=spf1 -all')
    v = auth.authenticate(make_message(), 'bounce@example.com',
                          ClientInfo(None, None, 'unknown'))
    assert v.spf.result == 'none' and 'client IP' in v.spf.reason


def test_spf_too_many_lookups(auth, dns_server):
    includes = ' '.join('include:i%d.example.com' % i for i in range(11))
    dns_server.add('example.com', 'TXT', 'v=spf1 %s -all' % includes)
    for i in range(11):
        dns_server.add('i%d.example.com' % i, 'TXT', 'v=spf1 ip4:203.0.113.%d -all' % i)
    v = auth.authenticate(make_message(), 'bounce@example.com', CLIENT)
    assert v.spf.result == 'permerror'


def test_spf_void_lookups(auth, dns_server):
    dns_server.add('example.com', 'TXT',
                   'v=spf1 a:v1.example.com a:v2.example.com a:v3.example.com ip4:192.0.2.0/24 -all')
    v = auth.authenticate(make_message(), 'bounce@example.com', CLIENT)
    assert v.spf.result == 'permerror'


def test_spf_helo_identity_for_null_sender(auth, dns_server):
    dns_server.add('mail.example.com', 'TXT', 'v=spf1 ip4:192.0.2.10 -all')
    v = auth.authenticate(make_message(), '<>', CLIENT)
    assert v.mail_from == ''
    assert v.spf.identity == 'helo' and v.spf.domain == 'mail.example.com'
    assert v.spf.result == 'pass'
    # HELO domain mail.example.com aligns (relaxed) with From example.com
    assert v.status == Status.PASS
    assert v.status_for('') == Status.NONE


def test_spf_temperror_servfail(auth, dns_server):
    dns_server.servfail('example.com')
    v = auth.authenticate(make_message(), 'bounce@example.com', CLIENT)
    assert v.spf.result == 'temperror'
    assert v.status == Status.TEMPERROR
    assert v.status_for('bounce@example.com') == Status.TEMPERROR


def test_spf_timeout_blackhole(make_auth, dns_server):
    auth = make_auth(dns_timeout=0.6)
    dns_server.blackhole('example.com')
    v = auth.authenticate(make_message(), 'bounce@example.com', CLIENT)
    assert v.spf.result == 'temperror'
    assert v.status == Status.TEMPERROR and v.temperror


def test_spf_disabled(make_auth, dns_server):
    dns_server.add('example.com', 'TXT', 'v=spf1 -all')
    v = make_auth(spf=False).authenticate(make_message(), 'bounce@example.com', CLIENT)
    assert v.spf is None and v.status == Status.NONE


def test_pyspf_dns_lookup_is_rebound_once_and_checked(auth):
    """patches.route_pyspf_dns rebinds spf.DNSLookup once per process, and
    a pyspf whose DNSLookup changed is reported, not silently used."""
    import pytest
    import spf
    from mailman_antibackscatter import patches
    assert getattr(spf.DNSLookup, patches.MARK, None) is not None
    assert patches.route_pyspf_dns(lambda original: original) is False
    changed = patches.Target('spf', '', 'DNSLookup', ('name', 'qtype'))
    with pytest.raises(patches.PatchTargetError, match='DNSLookup'):
        changed.check()
