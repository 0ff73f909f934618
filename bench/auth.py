#!/usr/bin/env python3
# Copyright (C) 2025 the mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sender-authentication benchmark for mailman_antibackscatter.

Builds a seeded corpus of list mail (DKIM RSA-2048 / ed25519, double
signatures, ARC sets, SPF include chains, DMARC), serves every DNS record from
the project's loopback DNS server, and measures on one core, in one run:

* the engine: ``Authenticator.authenticate`` with SPF, every DKIM signature,
  ARC and alignment, DNS cache warm;
* ``authheaders.authenticate_message`` as Mailman's validate-authenticity
  handler calls it;
* dkimpy alone, verifying every DKIM signature of each message;
* ``email.message_from_bytes`` alone (the parsing floor).

It also checks the engine's verdicts against what the generator intended and
exits non-zero on any mismatch.  See bench/README.md.  The last line of the
output is machine-readable.
"""

import os
import sys

# Make `python bench/auth.py` work from a checkout: the repository root goes
# after any PYTHONPATH entries and before site-packages.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    _n_pythonpath = len([p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
    sys.path.insert(min(1 + _n_pythonpath, len(sys.path)), _ROOT)

import argparse
import base64
import collections
import email
import email.utils
import gc
import random
import re
import resource
import time
import tracemalloc
from dataclasses import dataclass, field

import dkim
import dns.exception
import dns.resolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailman_antibackscatter.auth import Authenticator, ClientInfo, EngineSettings
from tests.harness.dnsserver import DNSServer

AUTHSERV_ID = 'lists.bench.example'
LIST_ADDRESS = 'community@lists.bench.example'
DNS_TTL = 3600          # longer than any run, so the warm pass never sees an expiry

# --------------------------------------------------------------------------
# The simulated Internet: author domains, an ESP, forwarders, an attacker.
# --------------------------------------------------------------------------

AUTHOR_DOMAINS = (
    'riverbend-coop.org', 'northwind-labs.com', 'openhydro.net', 'quillmail.io',
    'example-news.co.uk', 'harbourlight.org', 'tinkerworks.dev', 'meadowlark.edu',
    'pinecrest-school.org', 'bluefinch.net', 'cedarstack.com', 'goldenrod.org',
    'kestrel-systems.com', 'lowtide.com.au', 'marigold-press.org', 'orchardhill.net',
    'saltmarsh.io', 'stonebridge-uni.ac.uk', 'violet-kernel.org', 'westerly.com',
)
ED25519_DOMAINS = 8                  # the first N author domains also publish an ed25519 key
ESP_DOMAIN = 'esp-mailer.net'        # signs on behalf of customers, owns the envelope
ESP_BOUNCE_DOMAIN = 'bounces.esp-mailer.net'
FORWARDER = 'forwarder.org'          # another list server, trusted ARC sealer
UNTRUSTED_RELAY = 'relay-untrusted.net'
ATTACKER = 'attacker-mail.net'

FIRST_NAMES = ('Alice', 'Bruno', 'Chen', 'Dana', 'Emeka', 'Fatima', 'Greta', 'Hiro',
               'Ines', 'Jonas', 'Kamala', 'Lars', 'Mei', 'Nadia', 'Omar', 'Priya')
LAST_NAMES = ('Andersen', 'Baptiste', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia',
              'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Lindqvist', 'Moreau', 'Nakamura')
WORDS = ('the', 'list', 'release', 'meeting', 'agenda', 'patch', 'review', 'thanks', 'for',
         'a', 'we', 'should', 'build', 'server', 'mail', 'please', 'see', 'attached',
         'minutes', 'draft', 'proposal', 'community', 'volunteers', 'schedule', 'update',
         'question', 'about', 'configuration', 'and', 'to', 'of', 'in', 'is', 'it', 'that',
         'with', 'on', 'this', 'be', 'have', 'from', 'by', 'not', 'are', 'or', 'will', 'can',
         'documentation', 'translation', 'bug', 'fixed', 'version', 'upstream', 'mirror',
         'workshop', 'budget', 'garden', 'newsletter', 'regards', 'tomorrow', 'Friday',
         'café', 'naïve', 'Grüße', 'déjà', 'über')

# Intended outcome per category: 'pass' = authentic, 'not_pass' = forged.
# Shares are percent of the corpus; ARC = 9 + 5 + 2 = 16 %.
CATEGORIES = (
    # name,                 share, expect,     description
    ('dkim_rsa',             30, 'pass',     'author RSA-2048 signature, aligned SPF'),
    ('dkim_ed25519',          4, 'pass',     'author ed25519 signature only'),
    ('dkim_dual_alg',         6, 'pass',     'author signs twice: RSA + ed25519'),
    ('dkim_author_esp',      14, 'pass',     'author + ESP signatures, ESP envelope'),
    ('spf_only',              6, 'pass',     'unsigned, aligned SPF pass'),
    ('arc_trusted_broken',    9, 'pass',     'forwarded, DKIM broken, trusted ARC seal'),
    ('arc_trusted_intact',    5, 'pass',     'forwarded unchanged, trusted ARC seal'),
    ('forged_unsigned',      10, 'not_pass', 'forged From, unsigned, unauthorized IP'),
    ('forged_body_altered',   6, 'not_pass', 'real signature, body altered'),
    ('forged_bad_b',          4, 'not_pass', 'signature b= corrupted'),
    ('forged_foreign_sig',    2, 'not_pass', "attacker's own valid, unaligned signature"),
    ('forged_untrusted_arc',  2, 'not_pass', 'DKIM broken, ARC sealed by untrusted relay'),
)
CATEGORY_EXPECT = {name: expect for name, _, expect, _ in CATEGORIES}

SIZE_CLASSES = (
    # name, share, min bytes, max bytes
    ('2K', 40, 1_600, 2_800),
    ('10K', 40, 7_000, 13_000),
    ('50K', 18, 35_000, 70_000),
    ('1M', 2, 850_000, 1_150_000),
)


# --------------------------------------------------------------------------
# Keys.  Everything in the corpus follows from the seed except the RSA key
# material (OpenSSL's generator, ~50 ms a key; seeded pure-Python generation
# took ~0.5 s a key) and the DKIM t= timestamps dkimpy takes from the clock.
# Neither changes what is measured.
# --------------------------------------------------------------------------

def rsa_key(bits=2048):
    """Return (PKCS#1 PEM, DKIM TXT value) for a fresh RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, 'v=DKIM1; k=rsa; p=' + base64.b64encode(spki).decode()


def ed25519_key(rng):
    """Return (dkimpy private key: base64 seed, DKIM TXT value)."""
    seed = rng.randbytes(32)
    pub = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(seed), 'v=DKIM1; k=ed25519; p=' + base64.b64encode(pub).decode()


# --------------------------------------------------------------------------
# World: keys and DNS records
# --------------------------------------------------------------------------

@dataclass
class Domain:
    name: str
    net: str                        # first two octets of the /16 it sends from
    rsa_selector: str = ''
    rsa_pem: bytes = b''
    ed_selector: str = ''
    ed_key: bytes = b''
    spf_depth: int = 2


@dataclass
class World:
    domains: dict
    authors: list
    records: list = field(default_factory=list)   # (name, rdtype, value)

    def add(self, name, rdtype, value):
        self.records.append((name, rdtype, value))

    def ip(self, rng, domain):
        return '%s.%d.%d' % (self.domains[domain].net, rng.randrange(0, 256), rng.randrange(1, 255))


def build_world(rng):
    domains = {}
    authors = []
    for k, name in enumerate(AUTHOR_DOMAINS):
        d = Domain(name, '10.%d' % (k + 1), spf_depth=2 + k % 3)
        d.rsa_selector = 's2048-%d' % (2023 + k % 3)
        d.rsa_pem, rsa_txt = rsa_key()
        if k < ED25519_DOMAINS:
            d.ed_selector = 'ed-%d' % (2024 + k % 2)
            d.ed_key, ed_txt = ed25519_key(rng)
        domains[name] = d
        authors.append(name)
        d._txt = (rsa_txt, ed_txt if k < ED25519_DOMAINS else None)
    for name, net, selector in ((ESP_DOMAIN, '172.16', 'esp1'),
                                (FORWARDER, '172.20', 'arc-2025'),
                                (UNTRUSTED_RELAY, '172.21', 'seal'),
                                (ATTACKER, '172.22', 'mail')):
        d = Domain(name, net, rsa_selector=selector, spf_depth=2)
        d.rsa_pem, rsa_txt = rsa_key()
        d._txt = (rsa_txt, None)
        domains[name] = d
    world = World(domains, authors)

    policies = ('reject', 'quarantine', 'none')
    for k, (name, d) in enumerate(domains.items()):
        rsa_txt, ed_txt = d._txt
        world.add('%s._domainkey.%s' % (d.rsa_selector, name), 'TXT', rsa_txt)
        if ed_txt:
            world.add('%s._domainkey.%s' % (d.ed_selector, name), 'TXT', ed_txt)
        world.add('_dmarc.' + name, 'TXT',
                  'v=DMARC1; p=%s; rua=mailto:dmarc-reports@%s; adkim=r; aspf=r; pct=100'
                  % (policies[k % 3], name))
        # SPF: an include chain spf_depth deep; decoy ranges on the way, the
        # domain's real /16 at the bottom.
        chain = [name] + ['_spf%d.%s' % (level, name) for level in range(1, d.spf_depth + 1)]
        for level, host in enumerate(chain):
            if level + 1 < len(chain):
                extra = ' include:_spf.%s' % ESP_DOMAIN if (level == 0 and name in AUTHOR_DOMAINS
                                                             and k % 4 == 1) else ''
                world.add(host, 'TXT', 'v=spf1 ip4:192.0.2.%d/32 include:%s%s -all'
                          % (level * 8 + k % 8, chain[level + 1], extra))
            else:
                world.add(host, 'TXT', 'v=spf1 ip4:%s.0.0/16 ip6:2001:db8:%x::/48 ~all'
                          % (d.net, k + 1))
        # The HELO host: an A record everywhere, an SPF record on half.
        world.add('mail.' + name, 'A', d.net + '.0.25')
        if k % 2 == 0:
            world.add('mail.' + name, 'TXT', 'v=spf1 ip4:%s.0.0/16 -all' % d.net)
    world.add('_spf.' + ESP_DOMAIN, 'TXT', 'v=spf1 ip4:172.16.0.0/16 -all')
    world.add(ESP_BOUNCE_DOMAIN, 'TXT', 'v=spf1 include:_spf.%s -all' % ESP_DOMAIN)
    return world


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------

@dataclass
class Sample:
    index: int
    category: str
    size_class: str
    mime: str
    raw: bytes
    mail_from: str
    ip: str
    helo: str
    from_domain: str
    signatures: int            # DKIM-Signature header fields
    good_signatures: int       # how many of them the generator expects to verify
    arc: bool

    @property
    def expect(self):
        return CATEGORY_EXPECT[self.category]


def _text(rng, nbytes):
    lines, line, size = [], [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        line.append(w)
        if sum(len(x) + 1 for x in line) > rng.randrange(55, 76):
            text = ' '.join(line)
            lines.append(text)
            size += len(text.encode()) + 1
            line = []
            if rng.random() < 0.12:
                lines.append('')
    return '\n'.join(lines) + '\n'


def _html(text):
    paras = [p for p in text.split('\n\n') if p.strip()]
    return ('<html><head><meta charset="utf-8"></head><body>\n'
            + ''.join('<p style="margin:0 0 1em 0">%s</p>\n' % p.replace('\n', '<br>\n')
                      for p in paras)
            + '</body></html>\n')


def _b64_lines(data):
    enc = base64.b64encode(data).decode()
    return '\n'.join(enc[i:i + 76] for i in range(0, len(enc), 76)) + '\n'


def _body(rng, mime, nbytes):
    """Return (header lines for the content, body text), LF line ends."""
    if mime == 'plain':
        return (['Content-Type: text/plain; charset="utf-8"', 'Content-Transfer-Encoding: 8bit'],
                _text(rng, nbytes))
    boundary = '=_bench_%016x' % rng.getrandbits(64)
    if mime == 'alternative':
        text = _text(rng, max(200, int(nbytes * 0.4)))
        parts = [('text/plain; charset="utf-8"', '8bit', text),
                 ('text/html; charset="utf-8"', '8bit', _html(text))]
        ctype = 'multipart/alternative'
    else:   # mixed: a short text and a binary attachment
        text = _text(rng, min(1500, max(300, nbytes // 10)))
        attach = rng.randbytes(max(256, (nbytes - len(text) - 600) * 3 // 4))
        parts = [('text/plain; charset="utf-8"', '8bit', text),
                 ('application/pdf; name="report-%d.pdf"\nContent-Disposition: attachment;'
                  ' filename="report-%d.pdf"' % (rng.randrange(1000), rng.randrange(1000)),
                  'base64', _b64_lines(attach))]
        ctype = 'multipart/mixed'
    out = ['This is a multi-part message in MIME format.\n']
    for part_type, cte, payload in parts:
        out.append('\n--%s\nContent-Type: %s\nContent-Transfer-Encoding: %s\n\n%s'
                   % (boundary, part_type, cte, payload))
    out.append('\n--%s--\n' % boundary)
    return (['MIME-Version: 1.0', 'Content-Type: %s; boundary="%s"' % (ctype, boundary)],
            ''.join(out))


def _apportion(total, shares):
    """Exact counts for shares (largest remainder), so the mix is exact."""
    weight = sum(shares)
    raw = [total * s / weight for s in shares]
    counts = [int(x) for x in raw]
    for i in sorted(range(len(shares)), key=lambda i: raw[i] - counts[i], reverse=True):
        if sum(counts) >= total:
            break
        counts[i] += 1
    return counts


SIGNED_HEADERS = [b'from', b'to', b'subject', b'date', b'message-id', b'mime-version',
                  b'content-type', b'content-transfer-encoding']


def _sign(raw, domain, selector, key, algorithm, canon, linesep):
    sig = dkim.sign(raw, selector.encode(), domain.encode(), key,
                    canonicalize=canon, signature_algorithm=algorithm,
                    include_headers=SIGNED_HEADERS, linesep=linesep)
    return sig + raw


def _replace_header(raw, name, value, linesep):
    head, sep, body = raw.partition(linesep + linesep)
    lines = head.split(linesep)
    prefix = name.encode() + b':'
    for i, line in enumerate(lines):
        if line[:len(prefix)].lower() == prefix.lower():
            lines[i] = prefix + b' ' + value.encode()
    return linesep.join(lines) + sep + body


def _arc_forward(rng, world, raw, sample_from_domain, author_d, sealer, modify, linesep):
    """What a forwarding list server does: authenticate, maybe modify, seal."""
    lf = linesep.decode()
    ar = ('Authentication-Results: mx.%s; dkim=pass header.d=%s header.s=%s;'
          ' spf=pass smtp.mailfrom=%s; dmarc=pass header.from=%s'
          % (sealer, author_d, world.domains[author_d].rsa_selector, author_d, sample_from_domain))
    received = ('Received: from mail.%s (mail.%s [%s])%s\tby mx.%s with ESMTPS id %X; %s'
                % (author_d, author_d, world.ip(rng, author_d), lf, sealer, rng.getrandbits(40),
                   email.utils.formatdate(1740000000 + rng.randrange(10**6))))
    if modify:
        head, sep, body = raw.partition(linesep + linesep)
        subject = [l for l in head.split(linesep) if l.lower().startswith(b'subject:')][0]
        raw = _replace_header(raw, 'Subject', '[fwd-list] ' + subject[8:].strip().decode(), linesep)
        raw = raw + ('%s--%sfwd-list mailing list -- fwd-list@%s%sTo unsubscribe send an email'
                     ' to fwd-list-leave@%s%s' % (lf, lf, sealer, lf, sealer, lf)).encode()
        raw = ('List-Id: <fwd-list.%s>%s' % (sealer, lf)).encode() + raw
    raw = (ar + lf).encode() + raw
    d = world.domains[sealer]
    arc_set = dkim.arc_sign(raw, d.rsa_selector.encode(), sealer.encode(), d.rsa_pem,
                            ('mx.' + sealer).encode(),
                            timestamp=1740000000 + rng.randrange(10**6), linesep=linesep)
    if not arc_set:
        raise RuntimeError('dkimpy produced no ARC set')
    return (received + lf).encode() + b''.join(arc_set) + raw


def build_corpus(seed, n_messages, max_large):
    rng = random.Random(seed)
    world = build_world(rng)

    size_counts = _apportion(n_messages, [s for _, s, _, _ in SIZE_CLASSES])
    if size_counts[3] > max_large:                    # cap 1 MB messages, give the rest to 50K
        size_counts[2] += size_counts[3] - max_large
        size_counts[3] = max_large
    sizes = [c for (c, *_), k in zip(SIZE_CLASSES, size_counts) for _ in range(k)]
    cat_counts = _apportion(n_messages, [s for _, s, _, _ in CATEGORIES])
    cats = [c for (c, *_), k in zip(CATEGORIES, cat_counts) for _ in range(k)]
    rng.shuffle(sizes)
    rng.shuffle(cats)

    author_weights = [1 / (k + 1) ** 0.8 for k in range(len(world.authors))]
    ed_authors = world.authors[:ED25519_DOMAINS]
    mime_mix = {'2K': (('plain', 70), ('alternative', 30)),
                '10K': (('plain', 45), ('alternative', 40), ('mixed', 15)),
                '50K': (('plain', 20), ('alternative', 30), ('mixed', 50)),
                '1M': (('mixed', 100),)}
    bounds = {name: (lo, hi) for name, _, lo, hi in SIZE_CLASSES}
    canons = ((b'relaxed', b'relaxed'),) * 7 + ((b'relaxed', b'simple'),) * 2 + ((b'simple', b'simple'),)
    corpus = []

    for i, (size_class, category) in enumerate(zip(sizes, cats)):
        linesep = b'\n' if rng.random() < 0.1 else b'\r\n'
        if category in ('dkim_ed25519', 'dkim_dual_alg'):
            author = rng.choice(ed_authors)
        else:
            author = rng.choices(world.authors, author_weights)[0]
        from_domain = author
        if category in ('dkim_rsa', 'dkim_author_esp') and rng.random() < 0.15:
            from_domain = rng.choice(('news.', 'lists.', 'members.')) + author
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = '%s.%s' % (first.lower(), last.lower())
        mime = rng.choices(*zip(*mime_mix[size_class]))[0]
        target = rng.randrange(*bounds[size_class])
        ts = 1740000000 + i * 97
        subject_words = ' '.join(rng.choice(WORDS) for _ in range(rng.randrange(3, 9)))
        header_lines = [
            'Received: from [192.168.%d.%d] (unknown)\n\tby mail.%s with ESMTPSA id %X; %s'
            % (rng.randrange(256), rng.randrange(1, 255), author, rng.getrandbits(40),
               email.utils.formatdate(ts)),
            'From: %s %s <%s@%s>' % (first, last, local, from_domain),
            'To: %s' % LIST_ADDRESS,
            'Subject: Re: %s' % subject_words if rng.random() < 0.4 else 'Subject: %s' % subject_words,
            'Date: %s' % email.utils.formatdate(ts),
            'Message-ID: <%x.%d@%s>' % (rng.getrandbits(64), i, from_domain),
        ]
        if rng.random() < 0.5:
            header_lines.append('User-Agent: Mozilla/5.0 Thunderbird/128.%d' % rng.randrange(10))
        content_headers, body = _body(rng, mime, max(200, target - 1400))
        if mime == 'plain':
            header_lines.insert(5, 'MIME-Version: 1.0')
        header_lines += content_headers
        text = '\n'.join(header_lines) + '\n\n' + body
        raw = text.replace('\n', linesep.decode()).encode('utf-8')

        adom = world.domains[author]
        canon = rng.choice(canons)
        ip, helo = world.ip(rng, author), 'mail.' + author
        mail_from = rng.choice(('%s@%s' % (local, author), 'bounces+%d@%s' % (i, author)))
        sigs = good = 0
        arc = False

        def sign_rsa(r, d=adom):
            return _sign(r, d.name, d.rsa_selector, d.rsa_pem, b'rsa-sha256', canon, linesep)

        def sign_ed(r, d=adom):
            return _sign(r, d.name, d.ed_selector, d.ed_key, b'ed25519-sha256', canon, linesep)

        if category == 'dkim_rsa':
            raw, sigs, good = sign_rsa(raw), 1, 1
        elif category == 'dkim_ed25519':
            raw, sigs, good = sign_ed(raw), 1, 1
        elif category == 'dkim_dual_alg':
            raw, sigs, good = sign_ed(sign_rsa(raw)), 2, 2
        elif category == 'dkim_author_esp':
            raw = sign_rsa(raw)
            raw = _sign(raw, ESP_DOMAIN, world.domains[ESP_DOMAIN].rsa_selector,
                        world.domains[ESP_DOMAIN].rsa_pem, b'rsa-sha256',
                        (b'relaxed', b'relaxed'), linesep)
            sigs, good = 2, 2
            ip, helo = world.ip(rng, ESP_DOMAIN), 'o%d.%s' % (rng.randrange(1, 9), ESP_DOMAIN)
            mail_from = 'bounce-%x@%s' % (rng.getrandbits(32), ESP_BOUNCE_DOMAIN)
        elif category == 'spf_only':
            pass
        elif category in ('arc_trusted_broken', 'arc_trusted_intact', 'forged_untrusted_arc'):
            sealer = UNTRUSTED_RELAY if category == 'forged_untrusted_arc' else FORWARDER
            modify = category != 'arc_trusted_intact'
            raw = _arc_forward(rng, world, sign_rsa(raw), from_domain, author, sealer, modify, linesep)
            sigs, good, arc = 1, 0 if modify else 1, True
            ip, helo = world.ip(rng, sealer), 'mx.' + sealer
            mail_from = 'SRS0=%04x=%s=%s=%s@%s' % (rng.getrandbits(16), 'AB', author, local, sealer)
        elif category == 'forged_unsigned':
            ip = '%s.%d' % (rng.choice(('198.51.100', '203.0.113')), rng.randrange(1, 255))
            helo = rng.choice(('localhost', 'ylmf-pc', 'mail.%s' % author, '[%s]' % ip))
            mail_from = '%s@%s' % (local, from_domain)
        elif category == 'forged_body_altered':
            raw = sign_rsa(raw)
            head, sep, body = raw.partition(linesep + linesep)
            raw = head + sep + b'URGENT: wire the money today. ' + body
            sigs, good = 1, 0
            ip = '203.0.113.%d' % rng.randrange(1, 255)
            helo = 'mail.' + author
        elif category == 'forged_bad_b':
            raw = sign_rsa(raw) if rng.random() < 0.7 or not adom.ed_key else sign_ed(raw)
            bh = raw.index(b'bh=')
            k = re.compile(rb'[;\s]b=').search(raw, bh).end() + 20    # inside the b= value
            raw = raw[:k] + (b'A' if raw[k:k + 1] != b'A' else b'B') + raw[k + 1:]
            sigs, good = 1, 0
            ip = '198.51.100.%d' % rng.randrange(1, 255)
        elif category == 'forged_foreign_sig':
            att = world.domains[ATTACKER]
            raw = sign_rsa(raw, att)
            sigs, good = 1, 1
            ip, helo = world.ip(rng, ATTACKER), 'mail.' + ATTACKER
            mail_from = 'mailer@%s' % ATTACKER
        else:
            raise AssertionError(category)
        # Our own MTA's trace header, added last, for the client it saw.
        lf = linesep.decode()
        raw = ('Received: from %s (%s [%s])%s\tby mx.%s (Postfix) with ESMTPS id %X%s'
               '\tfor <%s>; %s%s' % (helo, helo if not helo.startswith('[') else 'unknown', ip,
                                     lf, AUTHSERV_ID, rng.getrandbits(40), lf, LIST_ADDRESS,
                                     email.utils.formatdate(ts + 2), lf)).encode() + raw
        corpus.append(Sample(i, category, size_class, mime, raw, mail_from, ip, helo,
                             from_domain, sigs, good, arc))
    return world, corpus


# --------------------------------------------------------------------------
# DNS for the peers: a dnspython resolver pointed at the loopback server,
# memoized (a warm key cache), returning str as both dkimpy and authheaders'
# DMARC lookup accept.
# --------------------------------------------------------------------------

class LoopbackTXT:
    def __init__(self, port):
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = ['127.0.0.1']
        self.resolver.port = port
        self.memo = {}
        self.misses = 0

    def __call__(self, name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode('ascii')
        name = name.rstrip('.').lower()
        try:
            return self.memo[name]
        except KeyError:
            pass
        self.misses += 1
        value = None
        try:
            answer = self.resolver.resolve(name, 'TXT', lifetime=timeout, raise_on_no_answer=False)
            if answer.rrset:
                value = b''.join(answer.rrset[0].strings).decode('ascii')
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.resolver.NoAnswer):
            pass
        except dns.exception.Timeout as exc:
            raise dkim.DnsTimeoutError(str(exc))
        self.memo[name] = value
        return value


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------

def status_of(verdict):
    status = getattr(verdict, 'status', verdict)
    return str(getattr(status, 'value', status)).lower()


def make_engine(port):
    settings = EngineSettings(authserv_id=AUTHSERV_ID,
                              nameservers=(('127.0.0.1', port),),
                              trusted_arc_sealers=frozenset({FORWARDER}))
    return Authenticator(settings)


def engine_pass(auth, corpus, times=None):
    """One pass; returns (seconds, statuses)."""
    statuses = []
    clock = time.perf_counter
    authenticate = auth.authenticate
    t0 = clock()
    for s in corpus:
        t = clock()
        verdict = authenticate(s.raw, s.mail_from, ClientInfo(s.ip, s.helo, source='xforward'))
        if times is not None:
            times[s.index] = clock() - t
        statuses.append(status_of(verdict))
    return clock() - t0, statuses


def dkimpy_pass(corpus, dnsfunc, times=None):
    """Verify every DKIM signature of every message; returns (seconds, results)."""
    results = []
    clock = time.perf_counter
    t0 = clock()
    for s in corpus:
        t = clock()
        d = dkim.DKIM(s.raw)
        n = sum(1 for name, _ in d.headers if name.lower() == b'dkim-signature')
        ok = []
        for idx in range(n):
            try:
                ok.append(bool(d.verify(idx=idx, dnsfunc=dnsfunc)))
            except dkim.DKIMException:
                ok.append(False)
        if times is not None:
            times[s.index] = clock() - t
        results.append(ok)
    return clock() - t0, results


def parse_pass(corpus, times=None):
    clock = time.perf_counter
    parse = email.message_from_bytes
    t0 = clock()
    for s in corpus:
        t = clock()
        parse(s.raw)
        if times is not None:
            times[s.index] = clock() - t
    return clock() - t0


def authheaders_pass(subset, dnsfunc, times):
    from authheaders import authenticate_message
    results = []
    for s in subset:
        t = time.perf_counter()
        res = authenticate_message(s.raw, AUTHSERV_ID, spf=False, dkim=True, dmarc=True,
                                   arc=True, dnsfunc=dnsfunc)
        times[s.index] = time.perf_counter() - t
        results.append(res)
    return results


def stratified_subset(corpus, k):
    """k messages with the corpus' category mix (largest-remainder quotas, at
    least one of each category when k allows), taken in corpus order, which
    is shuffled, so sizes follow the corpus mix too."""
    if k >= len(corpus):
        return list(corpus)
    by_cat = collections.defaultdict(list)
    for s in corpus:
        by_cat[s.category].append(s)
    names = [c for c, *_ in CATEGORIES if by_cat[c]]
    quotas = dict(zip(names, _apportion(k, [len(by_cat[c]) for c in names])))
    if k >= len(names):
        for c in names:                      # one of each, taken from the largest quotas
            if quotas[c] == 0:
                quotas[max(quotas, key=quotas.get)] -= 1
                quotas[c] = 1
    out = [s for c in names for s in by_cat[c][:quotas[c]]]
    return sorted(out, key=lambda s: s.index)


def category_weighted_rate(corpus, times):
    """Messages/s for the corpus' category mix, from per-category mean times
    of the messages that were measured (post-stratification)."""
    share = collections.Counter(s.category for s in corpus)
    per_cat = collections.defaultdict(list)
    for s in corpus:
        if s.index in times:
            per_cat[s.category].append(times[s.index])
    covered = sum(share[c] for c in per_cat)
    mean = sum(share[c] / covered * (sum(v) / len(v)) for c, v in per_cat.items())
    return 1 / mean if mean else float('nan')


def fmt_rate(x):
    if x != x:
        return 'n/a'
    return '%d' % round(x) if x >= 20 else '%.1f' % x


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='~300 messages, at most 2 of 1 MB, authheaders on a 24-message subset')
    ap.add_argument('--seed', type=int, default=20250301)
    ap.add_argument('--messages', type=int, help='corpus size (default 300 quick, 2000 full)')
    ap.add_argument('--max-large', type=int, help='cap on 1 MB messages (default 2 quick, no cap full)')
    ap.add_argument('--authheaders-messages', type=int,
                    help='size of the stratified subset authheaders is timed on '
                         '(default 24 quick, the whole corpus otherwise; 0 skips it)')
    ap.add_argument('--repeat', type=int, default=3,
                    help='timed passes for engine, dkimpy and parsing; the best is kept (default 3)')
    ap.add_argument('--profile', type=int, metavar='N', default=0,
                    help='also cProfile one warm engine pass and print the top N cumulative entries')
    args = ap.parse_args(argv)
    n = args.messages or (300 if args.quick else 2000)
    max_large = args.max_large if args.max_large is not None else (2 if args.quick else n)
    n_ah = args.authheaders_messages if args.authheaders_messages is not None else (24 if args.quick else n)
    t_start = time.perf_counter()

    t = time.perf_counter()
    world, corpus = build_corpus(args.seed, n, max_large)
    t_gen = time.perf_counter() - t
    total_bytes = sum(len(s.raw) for s in corpus)
    print('mailman_antibackscatter authentication benchmark (seed %d%s)'
          % (args.seed, ', quick' if args.quick else ''))
    print('corpus: %d messages, %.1f MB, %d DNS records, generated in %.1f s'
          % (len(corpus), total_bytes / 1e6, len(world.records), t_gen))
    for name, *_ in SIZE_CLASSES:
        members = [s for s in corpus if s.size_class == name]
        if members:
            print('  %-4s %5d msgs, mean %8.1f KB' % (name, len(members),
                                                      sum(len(s.raw) for s in members) / len(members) / 1024))
    print('  %d signatures (%d RSA-2048, %d ed25519), %d with 2 signatures, %d with ARC, %d unsigned, '
          '%d LF line ends' % (
              sum(s.signatures for s in corpus),
              sum(s.raw.count(b'a=rsa-sha256; ') - s.raw.count(b'ARC-Message-Signature') - s.raw.count(b'ARC-Seal')
                  for s in corpus),
              sum(s.raw.count(b'a=ed25519-sha256') for s in corpus),
              sum(s.signatures == 2 for s in corpus), sum(s.arc for s in corpus),
              sum(s.signatures == 0 for s in corpus), sum(b'\r\n' not in s.raw[:200] for s in corpus)))

    with DNSServer(negative_ttl=DNS_TTL) as srv:
        for name, rdtype, value in world.records:
            srv.add(name, rdtype, value, ttl=DNS_TTL)
        if not getattr(srv, 'port', None):
            srv.start()
        port = srv.port
        rows = {}

        # ---- the engine --------------------------------------------------
        auth = make_engine(port)
        q0, s0 = auth.resolver.queries_sent, srv.query_count
        t_cold, statuses = engine_pass(auth, corpus)            # warm-up pass, fills the DNS cache
        cold_queries = (auth.resolver.queries_sent - q0, srv.query_count - s0)
        best, eng_times, warm_queries = None, None, [0, 0]
        warm_statuses = None
        for _ in range(max(1, args.repeat)):
            q0, s0 = auth.resolver.queries_sent, srv.query_count
            times = {}
            el, st = engine_pass(auth, corpus, times)
            warm_queries[0] += auth.resolver.queries_sent - q0
            warm_queries[1] += srv.query_count - s0
            if warm_statuses is None:
                warm_statuses = st
            if best is None or el < best:
                best, eng_times = el, times
        rows['engine'] = (len(corpus) / best, eng_times, len(corpus))
        # memory of one warm pass, traced separately (tracemalloc slows it down)
        gc.collect()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        engine_pass(auth, corpus)
        mem_current, mem_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_delta = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
        prof_text = None
        if args.profile:
            import cProfile
            import io
            import pstats
            prof = cProfile.Profile()
            prof.enable()
            engine_pass(auth, corpus)
            prof.disable()
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats('cumulative').print_stats(args.profile)
            prof_text = buf.getvalue()

        # ---- dkimpy, every signature ------------------------------------
        dnsfunc = LoopbackTXT(port)
        _, dk_results = dkimpy_pass(corpus, dnsfunc)               # warm-up fills the key cache
        best, dk_times = None, None
        misses0 = dnsfunc.misses
        for _ in range(max(1, args.repeat)):
            times = {}
            el, _ = dkimpy_pass(corpus, dnsfunc, times)
            if best is None or el < best:
                best, dk_times = el, times
        rows['dkimpy'] = (len(corpus) / best, dk_times, len(corpus))
        dk_warm_misses = dnsfunc.misses - misses0

        # ---- parsing floor -----------------------------------------------
        parse_pass(corpus)
        best, p_times = None, None
        for _ in range(max(1, args.repeat)):
            times = {}
            el = parse_pass(corpus, times)
            if best is None or el < best:
                best, p_times = el, times
        rows['parse'] = (len(corpus) / best, p_times, len(corpus))

        # ---- authheaders, as Mailman's validate-authenticity calls it ------
        ah_rate, ah_results, ah_subset, ah_misses = float('nan'), [], [], 0
        if n_ah > 0:
            ah_subset = corpus if n_ah >= len(corpus) else stratified_subset(corpus, n_ah)
            for name, rdtype, _ in world.records:                 # warm the DNS memo
                if rdtype == 'TXT':
                    dnsfunc(name)
            for s in corpus:
                dnsfunc('_dmarc.' + s.from_domain)
            # warm-up: imports, first calls, and the DNS names authheaders derives
            # itself: one message per From domain and per category
            warm, seen = [], set()
            for s in ah_subset:
                if s.from_domain not in seen or s.category not in seen:
                    seen.update((s.from_domain, s.category))
                    warm.append(s)
            authheaders_pass(warm, dnsfunc, {})
            misses0 = dnsfunc.misses
            times = {}
            ah_results = authheaders_pass(ah_subset, dnsfunc, times)
            ah_misses = dnsfunc.misses - misses0
            ah_rate = category_weighted_rate(corpus, times)
            rows['authheaders'] = (ah_rate, times, len(ah_subset))

    # ---- correctness -------------------------------------------------------
    by_cat = collections.defaultdict(collections.Counter)
    mismatches = []
    for s, st, st_cold in zip(corpus, warm_statuses, statuses):
        by_cat[s.category][st] += 1
        if (s.expect == 'pass') != (st == 'pass'):
            mismatches.append((s, st))
        elif st != st_cold:
            mismatches.append((s, '%s (cold pass: %s)' % (st, st_cold)))
    corpus_errors = []
    for s, ok in zip(corpus, dk_results):
        if len(ok) != s.signatures or sum(ok) != s.good_signatures:
            corpus_errors.append((s, ok))

    # ---- report --------------------------------------------------------
    print()
    print('%-44s %9s %9s  %s' % ('what (one core, best of %d passes)' % max(1, args.repeat),
                                 'msgs/s', 'ms/msg', '  '.join('%7s' % ('ms ' + c) for c, *_ in SIZE_CLASSES)))
    labels = (('engine', 'engine: SPF + all DKIM + ARC + DMARC, warm DNS'),
              ('authheaders', 'authheaders.authenticate_message (Mailman)'),
              ('dkimpy', 'dkimpy, every signature, warm key cache'),
              ('parse', 'email.message_from_bytes (parsing floor)'))
    for key, label in labels:
        if key not in rows:
            continue
        rate, times, count = rows[key]
        per_class = []
        for c, *_ in SIZE_CLASSES:
            v = [times[s.index] for s in corpus if s.size_class == c and s.index in times]
            per_class.append('%7.2f' % (1000 * sum(v) / len(v)) if v else '%7s' % '-')
        print('%-44s %9s %9.3f  %s' % (label, fmt_rate(rate), 1000 / rate, '  '.join(per_class)))
    if ah_subset:
        if len(ah_subset) < len(corpus):
            print('  authheaders timed once on a subset of %d of %d messages (category quotas, at least one'
                  ' of each); msgs/s weighted to the corpus category mix (unweighted subset: %s msgs/s)'
                  % (len(ah_subset), len(corpus), fmt_rate(len(ah_subset) / sum(rows['authheaders'][1].values()))))
        else:
            print('  authheaders timed once on the whole corpus')
        print('  authheaders and dkimpy get a memoized TXT lookup against the same server'
              ' (warm before timing; misses while timed: authheaders %d, dkimpy %d)' % (ah_misses, dk_warm_misses))
    if ah_results:
        tally = collections.defaultdict(collections.Counter)
        for s, res in zip(ah_subset, ah_results):
            m = re.search(r'dmarc=(\w+)', res)
            tally[s.expect][m.group(1) if m else 'absent'] += 1
        print('  authheaders dmarc= on its messages: %s' % '; '.join(
            '%s: %s' % (k, ', '.join('%s=%d' % kv for kv in sorted(v.items())))
            for k, v in sorted(tally.items())))
    print('  dkimpy: one dkim.DKIM(raw) per message, then verify(idx=i) for each DKIM-Signature')
    print()
    print('DNS queries, engine cold pass: %d sent by its resolver, %d seen by the server'
          % cold_queries)
    print('DNS queries, engine warm passes (%d): %d sent by its resolver, %d seen by the server'
          % (max(1, args.repeat), warm_queries[0], warm_queries[1]))
    print('memory, one warm engine pass: tracemalloc peak %.2f MiB, still allocated after it %.2f MiB, '
          'ru_maxrss delta %.1f MiB' % (mem_peak / 2**20, mem_current / 2**20, rss_delta / 1024))
    print()
    print('engine verdicts by category (warm pass):')
    for name, _, expect, desc in CATEGORIES:
        if name in by_cat:
            counts = ', '.join('%s=%d' % kv for kv in sorted(by_cat[name].items()))
            print('  %-22s expect %-8s %-44s %s' % (name, expect, desc, counts))
    print('verdict mismatches: %d' % len(mismatches))
    for s, st in mismatches[:15]:
        print('  #%d %s (%s, %s): engine said %s' % (s.index, s.category, s.size_class,
                                                     'LF' if b'\r\n' not in s.raw[:200] else 'CRLF', st))
    print('corpus self-check (dkimpy per-signature results vs generator): %d unexpected' % len(corpus_errors))
    for s, ok in corpus_errors[:5]:
        print('  #%d %s: dkimpy %r, generator expected %d of %d good'
              % (s.index, s.category, ok, s.good_signatures, s.signatures))
    if prof_text:
        print()
        print('cProfile of one warm engine pass (top %d cumulative):' % args.profile)
        print(prof_text.rstrip())
    print('total run time %.1f s' % (time.perf_counter() - t_start))
    eng, dkr, par = rows['engine'][0], rows['dkimpy'][0], rows['parse'][0]
    print('engine_msgs_per_s=%d authheaders_msgs_per_s=%s dkimpy_msgs_per_s=%d parse_msgs_per_s=%d '
          'ratio_vs_authheaders=%s ratio_vs_dkimpy=%.2f dns_queries_warm=%d' % (
              round(eng), fmt_rate(ah_rate), round(dkr), round(par),
              ('%.1f' % (eng / ah_rate)) if ah_rate == ah_rate else 'n/a', eng / dkr,
              max(warm_queries)))
    return 1 if (mismatches or corpus_errors) else 0


if __name__ == '__main__':
    sys.exit(main())
