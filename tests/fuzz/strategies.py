# SPDX-License-Identifier: GPL-3.0-or-later
"""Hypothesis strategies: real messages signed with tests/harness/signing.py,
mutated byte by byte and header by header, and hostile DNS data."""

import email.utils

from hypothesis import strategies as st

from tests.harness.signing import arc_seal, dkim_sign, generate_rsa_key

DOMAIN = 'signer.example'
SELECTOR = 'fz'
SEALER = 'sealer.example'
CLIENT_IP = '192.0.2.77'

_KEY_PEM, KEY_TXT = generate_rsa_key(1024)


def base_message(body=b'Hello world.\r\nSecond line  with  spaces\r\n'):
    """A real list post, DKIM-signed by DOMAIN and ARC-sealed by SEALER."""
    raw = (b'Received: from mail.signer.example (mail.signer.example'
           b' [192.0.2.77]) by mx.example.net; Mon, 1 Jan 2024 00:00:00'
           b' +0000\r\n'
           b'From: Alice <alice@signer.example>\r\n'
           b'To: list@lists.example.net\r\n'
           b'Subject: A folded\r\n\tsubject\r\n'
           b'Date: ' + email.utils.formatdate(1700000000).encode() + b'\r\n'
           b'Message-ID: <fuzz@signer.example>\r\n'
           b'\r\n' + body)
    raw = dkim_sign(raw, DOMAIN, SELECTOR, _KEY_PEM,
                    headers=[b'from', b'to', b'subject', b'date',
                             b'message-id'])
    return arc_seal(raw, SEALER, SELECTOR, _KEY_PEM, 'mx.sealer.example',
                    'dkim=pass header.d=signer.example')


BASE = base_message()

# Header lines an attacker writes, with room for Hypothesis to vary them.
_B64ISH = st.text('AQZaz09+/= \t\r\n!', max_size=300).map(
    lambda s: s.encode())
_WS_RUN = st.integers(0, 3000).map(lambda n: b'\r\n ' * (n // 3) + b' ' * n)
_TAGS = st.lists(st.tuples(
    st.sampled_from([b'v', b'a', b'b', b'bh', b'd', b's', b'h', b'c', b'l',
                     b'i', b't', b'x', b'q', b'cv', b'x@y', b'']),
    st.one_of(_B64ISH, st.binary(max_size=40),
              st.sampled_from([b'1', b'rsa-sha256', b'ed25519-sha256',
                               b'from', b'relaxed/relaxed', b'9' * 80,
                               b'signer.example', b'x@y.example', b'fz',
                               b'-1', b'2', b'dns/txt'])),
    ), max_size=12).map(lambda tags: b'; '.join(k + b'=' + v
                                               for k, v in tags))

HOSTILE_LINES = st.one_of(
    _TAGS.map(lambda v: b'DKIM-Signature: ' + v),
    _TAGS.map(lambda v: b'ARC-Seal: ' + v),
    _TAGS.map(lambda v: b'ARC-Message-Signature: ' + v),
    st.tuples(_TAGS, _WS_RUN).map(
        lambda t: b'DKIM-Signature: v=1; b=A' + t[1] + b'!; ' + t[0]),
    st.binary(max_size=200).map(lambda v: b'Received-SPF: ' + v),
    st.text(max_size=200).map(
        lambda v: b'Received-SPF: pass ' + v.encode('utf-8', 'replace')),
    st.binary(max_size=200).map(lambda v: b'Received: from ' + v),
    st.binary(max_size=200).map(lambda v: b'From: ' + v),
    st.binary(max_size=200).map(lambda v: b'Authentication-Results: ' + v),
    st.binary(max_size=100).map(
        lambda v: b'Authentication-Results: lists.example.net; ' + v),
    st.binary(max_size=100),
    st.just(b' leading continuation'),
    st.just(b''),
)


@st.composite
def mutated_messages(draw, base=BASE):
    """A real signed and sealed message with a few hostile edits: bytes
    replaced, inserted or deleted, attacker header lines added, lines
    duplicated or the message cut short."""
    raw = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(
            ['replace', 'insert', 'delete', 'line', 'dup', 'cut']))
        pos = draw(st.integers(0, len(raw)))
        if kind == 'replace' and pos < len(raw):
            raw[pos] = draw(st.integers(0, 255))
        elif kind == 'insert':
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == 'delete':
            del raw[pos:pos + draw(st.integers(1, 40))]
        elif kind == 'line':
            start = raw.rfind(b'\n', 0, pos) + 1
            raw[start:start] = draw(HOSTILE_LINES) + draw(
                st.sampled_from([b'\r\n', b'\n', b'\r']))
        elif kind == 'dup':
            start = raw.rfind(b'\n', 0, pos) + 1
            end = raw.find(b'\n', start) + 1 or len(raw)
            raw[start:start] = raw[start:end] * draw(st.integers(1, 30))
        elif kind == 'cut':
            del raw[pos:]
    return bytes(raw)


def signed_spans(raw):
    """(start, end) byte ranges of *raw* whose content the DKIM signature
    covers: the values of the signed headers and the body."""
    spans = []
    body = raw.index(b'\r\n\r\n') + 4
    for name in (b'From:', b'To:', b'Subject:', b'Message-ID:'):
        start = raw.index(b'\r\n' + name) + 2 + len(name)
        spans.append((start, raw.index(b'\r\n', start)))
    spans.append((body, len(raw)))
    return spans


ALNUM = b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'


@st.composite
def tampered_messages(draw, base=BASE):
    """*base* with one letter or digit that DKIM signs changed to another:
    no canonicalization can undo that."""
    positions = [i for start, end in signed_spans(base)
                 for i in range(start, end) if base[i] in ALNUM]
    pos = draw(st.sampled_from(positions))
    new = draw(st.sampled_from([c for c in ALNUM if c != base[pos]]))
    return base[:pos] + bytes([new]) + base[pos + 1:]


# -- hostile DNS data ----------------------------------------------------------

_TXT = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda t: t.encode('utf-8', 'replace')),
    st.sampled_from([b'v=spf1 +all', b'v=spf1 -all', b'v=spf1 ?all',
                     b'v=spf1 include:@D -all', b'v=spf1 redirect=@D',
                     b'v=spf1 a mx ptr exists:@D ip4:192.0.2.0/24 -all',
                     b'v=DMARC1; p=reject', b'v=DMARC1; p=quarantine; sp=',
                     b'v=DKIM1; k=rsa; p=', b'v=DKIM1; k=ed25519; p=AAAA',
                     b'v=DKIM1; p=' + b'A' * 4000, KEY_TXT.encode()]),
    st.integers(1, 20000).map(lambda n: b"v=DKIM1; p=" + b"Q" * n),
)


@st.composite
def dns_worlds(draw):
    """Records and faults for the names one message makes us look up:
    {name: [TXT values]} and {name: fault} ('servfail', 'blackhole');
    names and values hold '@D', replaced by the sender domain."""
    records = {}
    for name in ('@D', SELECTOR + '._domainkey.@D', '_dmarc.@D'):
        values = draw(st.lists(_TXT, max_size=3))
        if values:
            records[name] = values
    faults = draw(st.dictionaries(
        st.sampled_from(['@D', '_dmarc.@D', SELECTOR + '._domainkey.@D']),
        st.sampled_from(['servfail', 'blackhole']), max_size=2))
    return records, faults
