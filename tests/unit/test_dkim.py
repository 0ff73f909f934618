# SPDX-License-Identifier: GPL-3.0-or-later
import email
import time

from engine_helpers import make_message

from mailman_antibackscatter.auth import ClientInfo, Status
from tests.harness.signing import (
    dkim_sign, generate_ed25519_key, generate_rsa_key)

# A client for which no SPF is published, so DKIM alone decides.
CLIENT = ClientInfo('203.0.113.5', 'relay.example.org', 'xforward')


def check(auth, raw, mail_from='bounce@relay.example.org'):
    return auth.authenticate(raw, mail_from, CLIENT)


def test_rsa2048_pass(auth, signed):
    v = check(auth, signed(make_message()))
    assert [(d.result, d.domain, d.selector) for d in v.dkim] == [
        ('pass', 'example.com', 's1')]
    assert v.status == Status.PASS
    assert 'dkim=pass header.d=example.com' in v.reason


def test_ed25519_pass(auth, signed):
    key = generate_ed25519_key()
    raw = signed(make_message(), selector='ed', key=key, algorithm=b'ed25519-sha256')
    v = check(auth, raw)
    assert v.dkim[0].result == 'pass' and v.status == Status.PASS


def test_lf_line_endings(auth, signed):
    raw = signed(make_message(linesep='\n'))
    assert b'\r' not in raw
    assert check(auth, raw).status == Status.PASS


def test_body_tampered(auth, signed):
    raw = signed(make_message()).replace(b'Hello world.', b'Hello w0rld.')
    v = check(auth, raw)
    assert v.dkim[0].result == 'fail' and 'body hash' in v.dkim[0].reason
    assert v.status == Status.NONE


def test_header_tampered(auth, signed):
    raw = signed(make_message()).replace(b'Subject: Hello', b'Subject: Hullo')
    v = check(auth, raw)
    assert v.dkim[0].result == 'fail' and v.status == Status.NONE


def test_length_tag_with_appended_text(auth, signed):
    raw = signed(make_message(), length=True)
    assert check(auth, raw).dkim[0].result == 'pass'
    v = check(auth, raw + b'Click here: http://evil.example/\r\n')
    assert v.dkim[0].result == 'policy' and 'unsigned' in v.dkim[0].reason
    assert v.status == Status.NONE


def test_small_key_is_policy(auth, signed):
    raw = signed(make_message(), selector='weak', key=generate_rsa_key(512))
    v = check(auth, raw)
    assert v.dkim[0].result == 'policy' and '512' in v.dkim[0].reason
    assert v.status == Status.NONE


def test_small_key_accepted_when_allowed(make_auth, signed):
    raw = signed(make_message(), selector='weak', key=generate_rsa_key(512))
    assert check(make_auth(min_key_bits=512), raw).dkim[0].result == 'pass'


def test_expired_signature(auth, signed):
    now = int(time.time())
    raw = signed(make_message(), timestamp=now - 7200, expire_seconds=3600)
    v = check(auth, raw)
    assert v.dkim[0].result == 'policy' and 'expired' in v.dkim[0].reason
    fresh = signed(make_message(), expire_seconds=3600)
    assert check(auth, fresh).dkim[0].result == 'pass'


def test_two_signatures_one_failing(auth, signed, dns_server):
    raw = signed(make_message(), domain='example.com', selector='good')
    other_pem, other_txt = generate_rsa_key(1024)
    raw = dkim_sign(raw, 'thirdparty.example', 'bad', other_pem)
    # publish a different key for the third party: its signature fails
    dns_server.add('bad._domainkey.thirdparty.example', 'TXT', generate_rsa_key(2048)[1])
    v = check(auth, raw)
    results = {d.domain: d.result for d in v.dkim}
    assert results == {'example.com': 'pass', 'thirdparty.example': 'fail'}
    assert v.status == Status.PASS


def test_key_missing(auth, rsa_key):
    raw = dkim_sign(make_message(), 'example.com', 'gone', rsa_key[0])
    v = check(auth, raw)
    assert v.dkim[0].result == 'permerror' and 'no key' in v.dkim[0].reason
    assert v.status == Status.NONE


def test_missing_key_is_negatively_cached(auth, rsa_key):
    raw = dkim_sign(make_message(), 'example.com', 'gone', rsa_key[0])
    check(auth, raw)
    sent = auth.resolver.queries_sent
    v = check(auth, raw)
    assert v.dkim[0].result == 'permerror'
    assert auth.resolver.queries_sent == sent


def test_key_lookup_servfail_is_temperror(auth, signed, dns_server):
    raw = signed(make_message())
    dns_server.servfail('_domainkey.example.com')
    v = check(auth, raw)
    assert v.dkim[0].result == 'temperror'
    assert v.status == Status.TEMPERROR


def test_key_lookup_timeout_is_temperror(make_auth, signed, dns_server):
    raw = signed(make_message())
    dns_server.blackhole('_domainkey.example.com')
    v = check(make_auth(dns_timeout=0.6), raw)
    assert v.dkim[0].result == 'temperror' and v.status == Status.TEMPERROR


def test_unaligned_signature_does_not_pass_from(auth, signed):
    raw = signed(make_message(), domain='elsewhere.example')
    v = check(auth, raw)
    assert v.dkim[0].result == 'pass' and v.status == Status.NONE


def test_raw_bytes_verify_but_reserialized_fails(auth, signed):
    # "Subject:x" (no space) and a tab after "To:" are legal; Python's email
    # package re-serializes them as "Subject: x" / "To: x", which breaks a
    # simple/simple signature.
    raw = (b'From: Alice <alice@example.com>\r\nTo:\tlist@lists.example.net\r\n'
           b'Subject:no space here\r\nMessage-ID: <r1@example.com>\r\n\r\n'
           b'Line one\r\n\r\nLine three \r\n')
    raw = signed(raw, canonicalize=(b'simple', b'simple'))
    reserialized = email.message_from_bytes(raw).as_bytes()
    assert reserialized != raw
    assert check(auth, raw).dkim[0].result == 'pass'
    assert check(auth, reserialized).dkim[0].result == 'fail'


def test_warm_cache_sends_no_queries(auth, signed):
    raw = signed(make_message())
    check(auth, raw)
    sent = auth.resolver.queries_sent
    assert check(auth, raw).status == Status.PASS
    assert auth.resolver.queries_sent == sent
    auth.resolver.clear()
    check(auth, raw)
    assert auth.resolver.queries_sent > sent


def test_broken_signature_header(auth):
    raw = b'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; b=!!!\r\n' + make_message()
    v = check(auth, raw)
    assert v.dkim[0].result == 'permerror'
    assert v.status == Status.NONE


def test_dkim_disabled(make_auth, signed):
    v = check(make_auth(dkim=False), signed(make_message()))
    assert v.dkim == () and v.status == Status.NONE


def test_signature_with_impossible_key_name_is_not_temperror(auth, signed):
    raw = signed(make_message())
    raw = raw.replace(b's=s1;', b's=' + b'x' * 70 + b';', 1)
    v = check(auth, raw)
    assert v.dkim[0].result in ('permerror', 'fail')
    assert v.status == Status.NONE


def test_too_many_signatures_are_capped(auth, signed):
    raw = make_message()
    for i in range(22):
        raw = signed(raw, selector='s%d' % i)
    v = check(auth, raw)
    assert len(v.dkim) == 21    # 20 verified, one for the rest
    assert [d.result for d in v.dkim].count('pass') == 20
    assert v.dkim[-1].result == 'policy' and v.status == Status.PASS
