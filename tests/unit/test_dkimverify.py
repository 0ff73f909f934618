# SPDX-License-Identifier: GPL-3.0-or-later
"""Cross-check the lean DKIM verifier against dkimpy's dkim.verify on the
same bytes with the same DNS data."""

import itertools
import time

import dkim
import pytest

from mailman_antibackscatter.auth import dkimverify
from mailman_antibackscatter.auth.headers import parse_headers
from tests.harness.signing import (
    dkim_sign, generate_ed25519_key, generate_rsa_key)

DOMAIN = 'example.com'

BASE = (b'Received: from a.example.net by b.example.net; Mon, 1 Jan 2024 00:00:00 +0000\r\n'
        b'Received: from c.example.net by a.example.net; Mon, 1 Jan 2024 00:00:00 +0000\r\n'
        b'X-Tag: one\r\n'
        b'From: Alice Example <alice@example.com>\r\n'
        b'X-Tag:  two\r\n'
        b'To:   list@lists.example.net  \r\n'
        b'Subject: A folded\r\n'
        b'\tsubject   with  \t spaces \r\n'
        b'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n'
        b'Message-ID: <m1@example.com>\r\n'
        b'\r\n'
        b'Hello world.\r\n'
        b'Line with trailing space   \r\n'
        b'Tabs\tand  double  spaces\r\n'
        b'\r\n'
        b'Last line\r\n'
        b'\r\n\r\n')

H_REPEATED = [b'from', b'to', b'subject', b'x-tag', b'x-tag', b'date']
H_OVERSIGNED = [b'from', b'from', b'to', b'subject', b'reply-to', b'cc',
                b'cc', b'message-id']


def _records():
    rsa_pem, rsa_txt = generate_rsa_key(2048)
    ed_priv, ed_txt = generate_ed25519_key()
    return {
        'rsa': (rsa_pem, b'rsa-sha256', rsa_txt.encode()),
        'ed25519': (ed_priv, b'ed25519-sha256', ed_txt.encode()),
    }


KEYS = _records()


def _dns(selector_txt):
    def get_txt(name, timeout=5):
        return selector_txt.get(name)
    return get_txt


def _ours(raw, get_txt):
    headers, body_offset, _sep, _problems = parse_headers(raw)
    msg = dkimverify.Message(raw, headers, body_offset)
    keys = dkimverify.KeyCache()
    out = []
    for header in headers:
        if header.lname == 'dkim-signature':
            out.append(dkimverify.verify_signature(
                msg, header, get_txt, keys, time.time(), 1024))
    return out


def _theirs(raw, get_txt):
    d = dkim.DKIM(raw, logger=_quiet)
    count = sum(1 for name, _v in d.headers if name.lower() == b'dkim-signature')
    out = []
    for idx in range(count):
        try:
            out.append(bool(d.verify(idx=idx, dnsfunc=get_txt)))
        except Exception:     # dkimpy lets e.g. nacl's ValueError escape
            out.append(False)
    return out


class _Quiet:
    def __getattr__(self, name):
        return lambda *a, **k: None


_quiet = _Quiet()


def _sign(raw, kind, canon, headers=None, length=False, identity=None,
          selector=b'sel'):
    priv, alg, _txt = KEYS[kind]
    linesep = b'\r\n' if b'\r\n' in raw else b'\n'
    sig = dkim.sign(raw, selector, DOMAIN.encode(), priv, identity=identity,
                    canonicalize=canon, signature_algorithm=alg,
                    include_headers=headers, length=length, linesep=linesep,
                    logger=_quiet)
    return sig + raw


def _lf(raw):
    return raw.replace(b'\r\n', b'\n')


def _flip_b(raw):
    pos = raw.index(b' b=') + 3
    return raw[:pos] + (b'B' if raw[pos:pos + 1] == b'A' else b'A') + raw[pos + 1:]


# (name, message builder before signing, sign kwargs, tamper after signing)
VARIANTS = [
    ('plain', lambda r: r, {}, None),
    ('length', lambda r: r, {'length': True}, None),
    ('length_appended', lambda r: r, {'length': True},
     lambda r: r + b'Appended text\r\n'),
    ('repeated_h', lambda r: r, {'headers': H_REPEATED}, None),
    ('repeated_h_new_top_received', lambda r: r, {'headers': H_REPEATED},
     lambda r: b'X-Tag: three\r\n' + r),
    ('repeated_h_new_bottom_tag', lambda r: r, {'headers': H_REPEATED},
     lambda r: r.replace(b'Date:', b'X-Tag: four\r\nDate:', 1)),
    ('oversigned', lambda r: r, {'headers': H_OVERSIGNED}, None),
    ('oversigned_added_cc', lambda r: r, {'headers': H_OVERSIGNED},
     lambda r: r.replace(b'Date:', b'Cc: x@example.org\r\nDate:', 1)),
    ('identity', lambda r: r, {'identity': b'alice@sub.example.com'}, None),
    ('empty_body', lambda r: r[:r.index(b'\r\n\r\n') + 4], {}, None),
    ('blank_lines_body', lambda r: r[:r.index(b'\r\n\r\n') + 4] + b'\r\n\r\n', {}, None),
    ('no_final_crlf', lambda r: r.rstrip(b'\r\n'), {}, None),
    ('lf_only', _lf, {}, None),
    ('lf_only_length', _lf, {'length': True}, None),
    ('tamper_subject', lambda r: r, {},
     lambda r: r.replace(b'A folded', b'A fold3d', 1)),
    ('tamper_body', lambda r: r, {},
     lambda r: r.replace(b'Hello world.', b'Hello w0rld.', 1)),
    ('body_ws_changed', lambda r: r, {},
     lambda r: r.replace(b'Hello world.', b'Hello  world. \t', 1)),
    ('body_trailing_blank_lines', lambda r: r, {}, lambda r: r + b'\r\n\r\n'),
    ('header_refolded', lambda r: r, {},
     lambda r: r.replace(b'Subject: A folded\r\n\tsubject',
                         b'Subject:  A folded subject', 1)),
    ('header_name_case', lambda r: r, {},
     lambda r: r.replace(b'\r\nSubject:', b'\r\nSUBJECT:', 1)),
    ('second_from', lambda r: r, {},
     lambda r: r.replace(b'Date:', b'From: evil@example.org\r\nDate:', 1)),
    ('bad_b', lambda r: r, {}, lambda r: _flip_b(r)),
]

CANONS = [(b'simple', b'simple'), (b'relaxed', b'relaxed'),
          (b'simple', b'relaxed'), (b'relaxed', b'simple')]


@pytest.mark.parametrize('kind,canon,variant', list(itertools.product(
    ['rsa', 'ed25519'], CANONS, VARIANTS)),
    ids=lambda v: v[0] if isinstance(v, tuple) and isinstance(v[0], str)
    else (b'/'.join(v).decode() if isinstance(v, tuple) else str(v)))
def test_agrees_with_dkimpy(kind, canon, variant):
    _name, build, kws, tamper = variant
    raw = build(BASE)
    signed = _sign(raw, kind, canon, **kws)
    if tamper is not None:
        signed = tamper(signed)
        if b'\r\n' not in raw:
            signed = signed.replace(b'\r\n', b'\n')
    get_txt = _dns({b'sel._domainkey.example.com.': KEYS[kind][2]})
    theirs = _theirs(signed, get_txt)
    ours = _ours(signed, get_txt)
    assert len(ours) == len(theirs) == 1
    # our policy result for l= leaving bytes unsigned is a valid signature
    ok = [r.result == 'pass' or (r.result == 'policy' and 'unsigned' in r.reason)
          for r in ours]
    assert ok == theirs, (ours, theirs)


def test_expected_outcomes():
    """A few of the cross-checked cases, pinned, so a shared bug in both
    verifiers cannot hide."""
    get_txt = _dns({b'sel._domainkey.example.com.': KEYS['rsa'][2]})
    relaxed = (b'relaxed', b'relaxed')
    simple = (b'simple', b'simple')
    ws = BASE.replace(b'Hello world.', b'Hello  world. \t', 1)
    assert _ours(_sign(ws, 'rsa', relaxed), get_txt)[0].result == 'pass'
    signed = _sign(BASE, 'rsa', simple)
    assert _ours(signed.replace(b'Hello world.', b'Hello  world.'), get_txt)[0].result == 'fail'
    signed = _sign(BASE, 'rsa', relaxed, length=True)
    r = _ours(signed + b'more\r\n', get_txt)[0]
    assert r.result == 'policy' and 'unsigned' in r.reason


def test_two_signatures_share_body_hash():
    raw = _sign(BASE, 'rsa', (b'relaxed', b'relaxed'))
    raw = _sign(raw, 'ed25519', (b'relaxed', b'relaxed'), selector=b'ed')
    get_txt = _dns({b'sel._domainkey.example.com.': KEYS['rsa'][2],
                    b'ed._domainkey.example.com.': KEYS['ed25519'][2]})
    headers, body_offset, _sep, _problems = parse_headers(raw)
    msg = dkimverify.Message(raw, headers, body_offset)
    keys = dkimverify.KeyCache()
    results = [dkimverify.verify_signature(msg, h, get_txt, keys)
               for h in headers if h.lname == 'dkim-signature']
    assert [r.result for r in results] == ['pass', 'pass']
    assert list(msg._body_hash) == [(True, None)]


def test_signing_helper_with_expiry_and_length():
    pem, _alg, txt = KEYS['rsa']
    raw = dkim_sign(BASE, DOMAIN, 'sel', pem, length=True, expire_seconds=3600,
                    canonicalize=(b'simple', b'relaxed'))
    get_txt = _dns({b'sel._domainkey.example.com.': txt})
    assert _theirs(raw, get_txt) == [True]
    assert _ours(raw, get_txt)[0].result == 'pass'


def test_rsa_sha1_refused():
    pem, _alg, txt = KEYS['rsa']
    raw = dkim_sign(BASE, DOMAIN, 'sel', pem, algorithm=b'rsa-sha1')
    get_txt = _dns({b'sel._domainkey.example.com.': txt})
    r = _ours(raw, get_txt)[0]
    assert r.result == 'policy' and 'RFC 8301' in r.reason


def test_key_records():
    raw = _sign(BASE, 'rsa', (b'relaxed', b'simple'))
    txt = KEYS['rsa'][2]
    name = b'sel._domainkey.example.com.'
    r = _ours(raw, _dns({name: b'v=DKIM1; k=rsa; p='}))[0]
    assert r.result == 'fail' and 'revoked' in r.reason
    r = _ours(raw, _dns({name: txt.replace(b'k=rsa', b'k=rsa; h=sha1')}))[0]
    assert r.result == 'permerror'
    r = _ours(raw, _dns({name: txt.replace(b'k=rsa', b'k=rsa; t=s')}))[0]
    assert r.result == 'pass'
    # RFC 6376 3.6.1: a testing key's signature counts as none at all.
    r = _ours(raw, _dns({name: txt.replace(b'k=rsa', b'k=rsa; t=y:s')}))[0]
    assert r.result == 'policy' and 't=y' in r.reason
    r = _ours(raw, _dns({name: txt.replace(b'k=rsa', b'k=ed25519')}))[0]
    assert r.result == 'permerror'
    r = _ours(raw, _dns({}))[0]
    assert r.result == 'permerror' and 'no key' in r.reason


def test_strict_key_flag_and_identity():
    raw = _sign(BASE, 'rsa', (b'relaxed', b'simple'),
                identity=b'alice@sub.example.com')
    txt = KEYS['rsa'][2]
    name = b'sel._domainkey.example.com.'
    assert _ours(raw, _dns({name: txt}))[0].result == 'pass'
    r = _ours(raw, _dns({name: txt.replace(b'k=rsa', b'k=rsa; t=s')}))[0]
    assert r.result == 'permerror'
    bad = raw.replace(b'i=alice@sub.example.com', b'i=alice@example.org', 1)
    assert _ours(bad, _dns({name: txt}))[0].result == 'permerror'


def test_missing_tags_and_garbage():
    get_txt = _dns({})
    raw = b'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; b=!!!\r\n' + BASE
    assert _ours(raw, get_txt)[0].result == 'permerror'
    raw = b'DKIM-Signature: v=1; v=1\r\n' + BASE
    r = _ours(raw, get_txt)[0]
    assert r.result == 'permerror' and 'unparsable' in r.reason
    raw = (b'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel;\r\n'
           b' h=to:subject; bh=AAAA; b=AAAA\r\n' + BASE)
    r = _ours(raw, _dns({b'sel._domainkey.example.com.': KEYS['rsa'][2]}))[0]
    assert r.result == 'permerror' and 'From' in r.reason


def test_rsa_signature_with_leading_zero_octets():
    """Known difference: dkimpy treats b= as an integer and so accepts a
    signature with zero octets prepended; RFC 8017 8.2.2 requires exactly
    k octets, and so do we (cryptography)."""
    raw = _sign(BASE, 'rsa', (b'relaxed', b'simple'))
    raw = raw.replace(b' b=', b' b=AAAA', 1)
    get_txt = _dns({b'sel._domainkey.example.com.': KEYS['rsa'][2]})
    assert _theirs(raw, get_txt) == [True]
    assert _ours(raw, get_txt)[0].result == 'fail'
