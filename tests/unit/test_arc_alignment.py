# SPDX-License-Identifier: GPL-3.0-or-later
import pytest
from engine_helpers import make_message

from mailman_antibackscatter.auth import ClientInfo, Status
from tests.harness.signing import arc_seal

CLIENT = ClientInfo('203.0.113.5', 'relay.example.org', 'xforward')
AAR = ('spf=pass smtp.mailfrom=alice@example.com; '
       'dkim=pass header.d=example.com; dmarc=pass header.from=example.com')


@pytest.fixture
def sealed(dns_server, rsa_key):
    def factory(raw, sealer='forwarder.example', aar=AAR):
        dns_server.add('arc._domainkey.' + sealer, 'TXT', rsa_key[1])
        return arc_seal(raw, sealer, 'arc', rsa_key[0], 'mx.' + sealer, aar)
    return factory


# -- ARC ----------------------------------------------------------------------

def test_no_arc_headers_means_no_arc_work(auth):
    v = auth.authenticate(make_message(), 'a@example.com', CLIENT)
    assert v.arc is None


def test_trusted_sealer(make_auth, sealed, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT', 'v=DMARC1; p=reject')
    auth = make_auth(trusted_arc_sealers=frozenset({'forwarder.example'}))
    v = auth.authenticate(sealed(make_message()), 'x@forwarder.example', CLIENT)
    assert v.arc.result == 'pass' and v.arc.trusted
    assert v.arc.sealer == 'forwarder.example'
    assert 'example.com' in v.arc.dmarc_domains
    assert v.arc.spf_domain == 'example.com'
    assert v.status == Status.PASS and 'ARC' in v.reason


def test_trusted_sealer_reporting_only_unaligned_results(make_auth, sealed):
    auth = make_auth(trusted_arc_sealers=frozenset({'forwarder.example'}))
    raw = sealed(make_message(), aar='dkim=pass header.d=other.example')
    v = auth.authenticate(raw, 'x@forwarder.example', CLIENT)
    assert v.arc.trusted and v.status == Status.NONE


def test_untrusted_sealer(make_auth, sealed, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT', 'v=DMARC1; p=reject')
    auth = make_auth(trusted_arc_sealers=frozenset({'someone-else.example'}))
    v = auth.authenticate(sealed(make_message()), 'x@forwarder.example', CLIENT)
    assert v.arc.result == 'pass' and not v.arc.trusted
    assert v.status == Status.FAIL


def test_broken_chain(make_auth, sealed):
    auth = make_auth(trusted_arc_sealers=frozenset({'forwarder.example'}))
    raw = sealed(make_message()).replace(b'Subject: Hello', b'Subject: Changed')
    v = auth.authenticate(raw, 'x@forwarder.example', CLIENT)
    assert v.arc.result == 'fail' and not v.arc.trusted
    assert v.status == Status.NONE


def test_arc_body_changed_after_seal(make_auth, sealed):
    auth = make_auth(trusted_arc_sealers=frozenset({'forwarder.example'}))
    raw = sealed(make_message()).replace(b'Hello world.', b'Hello w0rld.')
    v = auth.authenticate(raw, 'x@forwarder.example', CLIENT)
    assert v.arc.result == 'fail' and not v.arc.trusted


def test_arc_lf_line_endings_and_two_sets(make_auth, sealed, dns_server, rsa_key):
    auth = make_auth(trusted_arc_sealers=frozenset({'forwarder.example'}))
    raw = sealed(make_message(linesep='\n'))
    assert b'\r' not in raw
    v = auth.authenticate(raw, 'x@forwarder.example', CLIENT)
    assert v.arc.result == 'pass' and v.arc.trusted
    dns_server.add('arc._domainkey.second.example', 'TXT', rsa_key[1])
    raw = arc_seal(raw, 'second.example', 'arc', rsa_key[0], 'mx.second.example',
                   'arc=pass smtp.remote-ip=192.0.2.1')
    v = auth.authenticate(raw, 'x@forwarder.example', CLIENT)
    assert v.arc.result == 'pass' and v.arc.sealer == 'second.example'


def test_arc_disabled(make_auth, sealed):
    auth = make_auth(arc=False, trusted_arc_sealers=frozenset({'forwarder.example'}))
    v = auth.authenticate(sealed(make_message()), 'x@forwarder.example', CLIENT)
    assert v.arc is None and v.status == Status.NONE


# -- alignment and DMARC ---------------------------------------------------------

@pytest.mark.parametrize('from_, d, alignment, expected', [
    ('a@example.com', 'example.com', 'strict', Status.PASS),
    ('a@example.com', 'mail.example.com', 'relaxed', Status.PASS),
    ('a@example.com', 'mail.example.com', 'strict', Status.NONE),
    ('a@news.example.com', 'example.com', 'relaxed', Status.PASS),
    ('a@news.example.com', 'example.com', 'strict', Status.NONE),
    ('a@example.co.uk', 'other.co.uk', 'relaxed', Status.NONE),
    ('a@a.b.example.co.uk', 'example.co.uk', 'relaxed', Status.PASS),
    ('a@example.co.uk', 'co.uk', 'relaxed', Status.NONE),
    ('a@EXAMPLE.COM', 'Example.Com', 'strict', Status.PASS),
])
def test_dkim_alignment(make_auth, signed, from_, d, alignment, expected):
    raw = signed(make_message(from_=from_), domain=d)
    v = make_auth(alignment=alignment).authenticate(raw, 'x@relay.example.org', CLIENT)
    assert v.dkim[0].result == 'pass'
    assert v.status == expected


def test_spf_alignment_relaxed_and_strict(make_auth, dns_server):
    dns_server.add('bounces.example.com', 'TXT', 'v=spf1 ip4:203.0.113.0/24 -all')
    raw = make_message()
    relaxed = make_auth().authenticate(raw, 'b@bounces.example.com', CLIENT)
    strict = make_auth(alignment='strict').authenticate(raw, 'b@bounces.example.com', CLIENT)
    assert relaxed.status == Status.PASS and strict.status == Status.NONE
    assert strict.status_for('b@bounces.example.com') == Status.PASS


def test_dmarc_reject_nothing_aligned_fails(auth, dns_server, signed):
    dns_server.add('_dmarc.example.com', 'TXT', 'v=DMARC1; p=reject; rua=mailto:x@example.com')
    raw = signed(make_message(), domain='unrelated.example')
    v = auth.authenticate(raw, 'x@relay.example.org', CLIENT)
    assert v.dmarc_policy == 'reject'
    assert v.status == Status.FAIL and 'p=reject' in v.reason


def test_dmarc_none_policy_is_not_fail(auth, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT', 'v=DMARC1; p=none')
    v = auth.authenticate(make_message(), 'x@relay.example.org', CLIENT)
    assert v.dmarc_policy == 'none' and v.status == Status.NONE


def test_dmarc_subdomain_policy_from_org_domain(auth, dns_server):
    dns_server.add('_dmarc.example.com', 'TXT', 'v=DMARC1; p=none; sp=quarantine')
    v = auth.authenticate(make_message(from_='a@sub.example.com'), 'x@relay.example.org', CLIENT)
    assert v.dmarc_policy == 'quarantine' and v.status == Status.FAIL
    v = auth.authenticate(make_message(from_='a@example.com'), 'x@relay.example.org', CLIENT)
    assert v.dmarc_policy == 'none' and v.status == Status.NONE


def test_dmarc_lookup_temperror(auth, dns_server):
    dns_server.servfail('_dmarc.example.com')
    v = auth.authenticate(make_message(), 'x@relay.example.org', CLIENT)
    assert v.status == Status.TEMPERROR


def test_other_address_of_same_domain_is_none(auth, signed):
    v = auth.authenticate(signed(make_message()), 'bounce@example.com', CLIENT)
    assert v.status_for('alice@example.com') == Status.PASS
    assert v.status_for('ALICE@Example.COM') == Status.PASS
    assert v.status_for('<alice@example.com>') == Status.PASS
    assert v.status_for('bob@example.com') == Status.NONE
    assert v.status_for('alice@mail.example.com') == Status.NONE
    assert v.status_for('') == Status.NONE


def test_mail_from_status(auth, dns_server, signed):
    dns_server.add('relay.example.org', 'TXT', 'v=spf1 ip4:203.0.113.5 -all')
    v = auth.authenticate(make_message(), 'bounce@relay.example.org', CLIENT)
    assert v.status_for('bounce@relay.example.org') == Status.PASS
    assert v.status == Status.NONE
    v = auth.authenticate(make_message(), 'bounce@relay.example.org',
                          ClientInfo('198.51.100.9', 'x', 'xforward'))
    assert v.status_for('bounce@relay.example.org') == Status.FAIL
    assert v.status == Status.NONE   # From domain is not aligned with it


def test_null_and_unknown_sender(auth):
    v = auth.authenticate(make_message(), '', CLIENT)
    assert v.mail_from == '' and v.status_for('') == Status.NONE
    v = auth.authenticate(make_message(), None, CLIENT)
    assert v.mail_from is None and v.spf is None and v.status == Status.NONE


def test_idn_from_domain_aligns_with_punycode_signature(auth, signed):
    raw = signed(make_message(from_='Jörg <jörg@münchen.de>'), domain='xn--mnchen-3ya.de')
    v = auth.authenticate(raw, None, CLIENT)
    assert v.from_address == 'jörg@münchen.de'
    assert v.status == Status.PASS
    assert v.status_for('JÖRG@MÜNCHEN.DE'.lower()) == Status.PASS


def test_header_block_dkimpy_cannot_parse_is_an_arc_fail(auth):
    # A leading continuation line crashes dkimpy's parser with IndexError;
    # that is an unparsable message, not an internal error of ours.
    raw = b' x\r\nARC-Seal: i=1\r\nFrom: a@example.org\r\n\r\nbody\r\n'
    v = auth.authenticate(raw, 'a@example.org')
    assert not v.reason.startswith('internal error'), v.reason
    assert v.arc.result == 'fail'
    assert v.arc.reason.startswith('unparsable message')
