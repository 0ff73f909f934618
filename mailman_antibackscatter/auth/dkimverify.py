# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A lean DKIM-Signature verifier (RFC 6376, RFC 8301, RFC 8463).

It works on the bytes as received and on the engine's single header parse
(:func:`.headers.parse_headers`): no re-serialization, no line splitting of
the body, canonicalization with bytes methods, body hashes shared between
signatures of one message, parsed public keys cached, and RSA / Ed25519
through ``cryptography``.  ARC stays with dkimpy (:mod:`.arccheck`).
"""

import base64
import binascii
import hashlib
import re
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import load_der_public_key

from .psl import normalize_domain
from .resolver import DNSTempError
from .verdict import DKIMResult

__all__ = ['Message', 'KeyCache', 'verify_signature', 'parse_tags',
           'TagListError', 'decode_base64']

_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()
_PREHASHED = Prehashed(_SHA256)

# Runs of WSP that relaxed canonicalization must change: any run holding a
# tab, or two or more spaces.  (A single space is already canonical, so the
# regex never matches between ordinary words.)
_WSP_FIX = re.compile(rb'\t[ \t]*| [ \t]+')
_WSP_RUN = re.compile(rb'[ \t]+')
_LINE_END = re.compile(rb'\r?\n')
_TAG_NAME = re.compile(rb'[A-Za-z][A-Za-z0-9_]*\Z')
# What regex \s means in bytes: FWS and the other ASCII white space that a
# base64 tag value may hold (RFC 6376 3.2).
_WHITESPACE = b' \t\r\n\v\f'
_DIGITS = re.compile(rb'[0-9]{1,76}\Z')
_D_SPECIALS = re.compile(rb'[()<>\[\]:;@\\,]')

# dkimpy tolerates t= up to ten hours in the future (clock skew); so do we.
_T_SLOP = 36000


class TagListError(ValueError):
    pass


def parse_tags(value):
    """RFC 6376 3.2 tag-list -> {name: value} (bytes, WSP/FWS stripped
    around names and values; duplicate tags are an error)."""
    tags = {}
    parts = value.split(b';')
    if not parts[-1].strip():
        parts.pop()
    for part in parts:
        name, eq, val = part.partition(b'=')
        name = name.strip()
        if not eq or not _TAG_NAME.match(name):
            raise TagListError('invalid tag %r' % part.strip()[:40])
        if name in tags:
            raise TagListError('duplicate tag %s=' % name.decode('ascii'))
        tags[name] = val.strip()
    return tags


def decode_base64(value):
    """The bytes a base64 tag value (b=, bh=, p=) stands for, or None if
    it is empty or not valid base64.

    Linear in the length of *value* whatever it holds: white space is
    deleted with one translate() and the rest is checked by binascii, never
    by a regex (overlapping white-space classes backtrack quadratically on
    folded input)."""
    data = value.translate(None, _WHITESPACE)
    if not data or len(data) % 4:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _crlf(data):
    """data with every line ending as CRLF (no copy when already so)."""
    lf = data.count(b'\n')
    if not lf:
        return data
    if b'\r' not in data:
        return data.replace(b'\n', b'\r\n')      # LF only: the common case
    if lf != data.count(b'\r\n'):
        return _LINE_END.sub(b'\r\n', data)
    return data


def _relaxed_value(value):
    # unfold (line ends were normalized to CRLF), WSP runs -> one SP, strip
    return _WSP_RUN.sub(b' ', value.replace(b'\r\n', b'')).strip()


class Message:
    """One message as received: raw bytes, the engine's header list and the
    body offset.  Canonical forms and body hashes are computed lazily and
    shared by all signatures of the message."""

    def __init__(self, raw, headers, body_offset):
        self.raw = raw
        self.headers = headers
        self.body_offset = body_offset
        self._by_name = None
        self._body = None
        self._canon_body = {}
        self._body_hash = {}
        self._simple = {}
        self._relaxed = {}

    # -- headers -----------------------------------------------------------

    def instances(self, lname):
        by_name = self._by_name
        if by_name is None:
            by_name = self._by_name = {}
            for header in self.headers:
                by_name.setdefault(header.lname, []).append(header)
        return by_name.get(lname, ())

    def header_bytes(self, header):
        """The raw header field, line ends normalized to CRLF and a final
        CRLF guaranteed."""
        data = self._simple.get(header.start)
        if data is None:
            data = _crlf(self.raw[header.start:header.end])
            if not data.endswith(b'\r\n'):
                data += b'\r\n'
            self._simple[header.start] = data
        return data

    def relaxed_header(self, header):
        data = self._relaxed.get(header.start)
        if data is None:
            raw = self.header_bytes(header)
            colon = raw.index(b':')
            data = (raw[:colon].rstrip(b' \t').lower() + b':'
                    + _relaxed_value(raw[colon + 1:]) + b'\r\n')
            self._relaxed[header.start] = data
        return data

    # -- body ----------------------------------------------------------------

    def body(self):
        body = self._body
        if body is None:
            body = self._body = _crlf(self.raw[self.body_offset:])
        return body

    def canonical_body(self, relaxed):
        """(buffer, end, extra): the canonical body is buffer[:end] + extra."""
        hit = self._canon_body.get(relaxed)
        if hit is not None:
            return hit
        data = self.body()
        if relaxed:
            if b'\t' in data or b'  ' in data:
                data = _WSP_FIX.sub(b' ', data)
            if b' \r\n' in data:
                data = data.replace(b' \r\n', b'\r\n')
        n = len(data)
        end = n
        while data.endswith(b'\r\n', 0, end):
            end -= 2
        if end == n:
            extra = b'\r\n'     # no final CRLF (or empty body): add one
        else:
            end += 2            # keep one CRLF, drop trailing empty lines
            extra = b''
        if (relaxed and end + len(extra) == 2
                and (end == 0 or data[:2] == b'\r\n')):
            end, extra = 0, b''   # relaxed: an empty body stays empty
        hit = self._canon_body[relaxed] = (data, end, extra)
        return hit

    def body_hash(self, relaxed, length):
        """(sha256 digest, canonical body length) for canonicalization and
        l= value (None: whole body)."""
        key = (relaxed, length)
        hit = self._body_hash.get(key)
        if hit is not None:
            return hit
        data, end, extra = self.canonical_body(relaxed)
        total = end + len(extra)
        count = total if length is None else min(length, total)
        digest = hashlib.sha256()
        if count >= end:
            digest.update(memoryview(data)[:end] if end < len(data) else data)
            digest.update(extra[:count - end])
        else:
            digest.update(memoryview(data)[:count])
        hit = self._body_hash[key] = (digest.digest(), total)
        return hit


# -- keys --------------------------------------------------------------------

class _Key:
    __slots__ = ('kind', 'key', 'bits', 'strict', 'testing', 'error',
                 'revoked')

    def __init__(self, kind=None, key=None, bits=0, strict=False,
                 testing=False, error=None, revoked=False):
        self.kind = kind
        self.key = key
        self.bits = bits
        self.strict = strict
        self.testing = testing
        self.error = error
        self.revoked = revoked


def parse_key(txt):
    """Parse a DKIM key record (RFC 6376 3.6.1) into a _Key; problems are
    reported in .error / .revoked instead of raised."""
    try:
        tags = parse_tags(txt)
    except TagListError as exc:
        return _Key(error='invalid key record: %s' % exc)
    version = tags.get(b'v')
    if version is not None and version != b'DKIM1':
        return _Key(error='invalid key record: v=%s'
                    % version.decode('ascii', 'replace'))
    kind = tags.get(b'k', b'rsa').lower()
    if kind not in (b'rsa', b'ed25519'):
        return _Key(error='unknown key type k=%s'
                    % kind.decode('ascii', 'replace'))
    hash_algs = tags.get(b'h')
    if hash_algs is not None and b'sha256' not in [
            x.strip().lower() for x in hash_algs.split(b':')]:
        return _Key(error='key record h= does not allow sha256')
    services = tags.get(b's')
    if services is not None and not {b'*', b'email'} & {
            x.strip().lower() for x in services.split(b':')}:
        return _Key(error='key record s= does not allow email')
    flags = {x.strip().lower() for x in tags.get(b't', b'').split(b':')}
    if b'p' not in tags:
        return _Key(error='key record without p=')
    if not tags[b'p'].translate(None, _WHITESPACE):
        return _Key(kind=kind, revoked=True, error='key revoked (empty p=)')
    der = decode_base64(tags[b'p'])
    if der is None:
        return _Key(error='key p= is not valid base64')
    try:
        if kind == b'rsa':
            key = load_der_public_key(der)
            if not isinstance(key, RSAPublicKey):
                return _Key(error='k=rsa but p= is not an RSA key')
            bits = key.key_size
        else:
            key = Ed25519PublicKey.from_public_bytes(der)
            bits = 256
    except Exception as exc:
        return _Key(error='could not parse %s public key: %s' % (
            kind.decode('ascii'), type(exc).__name__))
    return _Key(kind, key, bits, b's' in flags, b'y' in flags)


class KeyCache:
    """Parsed keys per (DNS name, digest of the TXT value); bounded and
    thread-safe.  The digest, not the record, is kept: a hostile record
    may be kilobytes long.

    *loader* turns (name, txt) into the cached value; by default this
    module's own key parser.
    """

    def __init__(self, size=2000, loader=None):
        self.size = size
        self._loader = loader or (lambda name, txt: parse_key(txt))
        self._data = {}
        self._lock = threading.Lock()

    def load(self, name, txt):
        if not isinstance(txt, bytes):
            return self._loader(name, txt)      # no record: nothing kept
        cache_key = (name, hashlib.sha256(txt).digest())
        hit = self._data.get(cache_key)
        if hit is not None:
            return hit
        value = self._loader(name, txt)
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[cache_key] = value
        return value


# -- verification ------------------------------------------------------------

def _text(value):
    return value.decode('ascii', 'replace') if value is not None else ''


def _signature_header(msg, header, relaxed):
    """The DKIM-Signature header canonicalized for hashing: b= value
    emptied, no trailing CRLF."""
    data = msg.header_bytes(header)
    colon = data.index(b':')
    value = data[colon + 1:]
    pos = 0
    for part in value.split(b';'):
        eq = part.find(b'=')
        if eq >= 0 and part[:eq].strip() == b'b':
            start = pos + eq + 1
            stop = pos + len(part.rstrip())
            if stop > start:
                value = value[:start] + value[stop:]
            break
        pos += len(part) + 1
    if relaxed:
        return (data[:colon].rstrip(b' \t').lower() + b':'
                + _relaxed_value(value))
    return (data[:colon + 1] + value).rstrip()


def verify_signature(msg, header, get_txt, keys, now=None, min_key_bits=1024):
    """Verify one DKIM-Signature header of msg; return a DKIMResult."""
    raw_value = msg.header_bytes(header)
    raw_value = raw_value[raw_value.index(b':') + 1:]
    try:
        tags = parse_tags(raw_value)
    except TagListError as exc:
        return DKIMResult('permerror', '', '',
                          'unparsable signature: %s' % exc)
    domain_b = tags.get(b'd')
    domain = normalize_domain(_text(domain_b))
    selector = _text(tags.get(b's')).strip()

    def res(result, reason):
        return DKIMResult(result, domain, selector, reason)

    if now is None:
        now = time.time()
    # Our policy: an expired signature does not count (checked before DNS).
    x = tags.get(b'x')
    if x is not None:
        if not _DIGITS.match(x):
            return res('permerror', 'invalid x= tag')
        if int(x) < now:
            return res('policy', 'signature expired (x=%s)' % _text(x))
    # Syntax of the signature (RFC 6376 3.5).
    for name in (b'v', b'a', b'b', b'bh', b'd', b'h', b's'):
        if name not in tags:
            return res('permerror', 'missing %s=' % name.decode('ascii'))
    if tags[b'v'] != b'1':
        return res('permerror', 'v= value is not 1 (%s)' % _text(tags[b'v']))
    algorithm = tags[b'a'].lower()
    if algorithm == b'rsa-sha1':
        return res('policy', 'rsa-sha1 not accepted (RFC 8301)')
    if algorithm not in (b'rsa-sha256', b'ed25519-sha256'):
        return res('permerror',
                   'unknown signature algorithm: %s' % _text(algorithm))
    sig = decode_base64(tags[b'b'])
    if sig is None:
        return res('permerror', 'b= value is not valid base64')
    bh = decode_base64(tags[b'bh'])
    if bh is None:
        return res('permerror', 'bh= value is not valid base64')
    canon = tags.get(b'c', b'simple/simple').lower()
    hcanon, _slash, bcanon = canon.partition(b'/')
    bcanon = bcanon or b'simple'
    if (hcanon not in (b'simple', b'relaxed')
            or bcanon not in (b'simple', b'relaxed')):
        return res('permerror', 'invalid c= value: %s' % _text(canon))
    if not domain_b or _D_SPECIALS.search(domain_b):
        return res('permerror', 'd= value is not valid (%s)' % _text(domain_b))
    d_lower = domain_b.lower().rstrip(b'.')
    identity = tags.get(b'i')
    i_domain = None
    if identity is not None:
        i_domain = identity.rpartition(b'@')[2].lower().rstrip(b'.')
        if not (i_domain == d_lower or i_domain.endswith(b'.' + d_lower)):
            return res('permerror',
                       'i= domain is not a subdomain of d= (i=%s d=%s)'
                       % (_text(identity), _text(domain_b)))
    length = tags.get(b'l')
    if length is not None:
        if not _DIGITS.match(length):
            return res('permerror', 'l= value is not a decimal integer (%s)'
                       % _text(length))
        length = int(length)
    q = tags.get(b'q')
    if q is not None and q != b'dns/txt':
        return res('permerror', 'q= value is not dns/txt (%s)' % _text(q))
    t = tags.get(b't')
    if t is not None:
        if not _DIGITS.match(t):
            return res('permerror',
                       't= value is not a decimal integer (%s)' % _text(t))
        if int(t) > now + _T_SLOP:
            return res('permerror',
                       't= value is in the future (%s)' % _text(t))
        if x is not None and int(x) < int(t):
            return res('permerror', 'x= value is less than t= value')
    signed = [n.strip().lower() for n in tags[b'h'].split(b':')]
    if b'from' not in signed:
        return res('permerror', 'From field not signed')

    # The key.
    name = tags[b's'] + b'._domainkey.' + domain_b + b'.'
    try:
        txt = get_txt(name)
    except DNSTempError as exc:
        return res('temperror', 'key lookup failed: %s' % exc)
    except Exception as exc:
        return res('permerror', 'verification error: %s' % type(exc).__name__)
    if not txt:
        return res('permerror', 'no key published for %s._domainkey.%s'
                   % (selector, domain))
    key = keys.load(name, txt)
    if key.revoked:
        return res('fail', key.error)
    if key.error:
        return res('permerror', key.error[:160])
    if key.testing:
        # RFC 6376 3.6.1: mail signed with a testing key is treated like
        # unsigned mail, whether or not the signature verifies.
        return res('policy', 'key in testing mode (t=y): treated as unsigned')
    if (key.kind == b'rsa') != (algorithm == b'rsa-sha256'):
        return res('permerror', 'key type k=%s does not match a=%s'
                   % (_text(key.kind), _text(algorithm)))
    if key.strict and i_domain is not None and i_domain != d_lower:
        return res('permerror', 'key t=s forbids i= subdomain of d=')

    # The body.
    body_hash, body_len = msg.body_hash(bcanon == b'relaxed', length)
    if body_hash != bh:
        return res('fail', 'body hash mismatch')

    # The header.
    relaxed = hcanon == b'relaxed'
    digest = hashlib.sha256()
    used = {}
    if b'from' in signed:
        # Like dkimpy (its bug#644046): one more 'from' so that a second
        # From header, if any, is hashed too and breaks the signature.
        signed.append(b'from')
    for lname in signed:
        lname = lname.decode('ascii', 'replace')
        found = msg.instances(lname)
        left = used.get(lname, len(found))
        if left:
            left -= 1
            used[lname] = left
            target = found[left]
            digest.update(msg.relaxed_header(target) if relaxed
                          else msg.header_bytes(target))
    digest.update(_signature_header(msg, header, relaxed))
    try:
        if key.kind == b'rsa':
            key.key.verify(sig, digest.digest(), _PKCS1, _PREHASHED)
        else:
            key.key.verify(sig, digest.digest())
    except InvalidSignature:
        return res('fail', 'signature did not verify')
    except Exception as exc:
        return res('fail', 'signature did not verify (%s)'
                   % type(exc).__name__)
    if key.kind == b'rsa' and key.bits < min_key_bits:
        return res('policy', 'key too small (%d bits)' % key.bits)
    if length is not None and length < body_len:
        return res('policy', 'l=%d leaves %d body bytes unsigned'
                   % (length, body_len - length))
    return res('pass', 'signature verified')
