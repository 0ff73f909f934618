# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""ARC (RFC 8617): dkimpy's chain validation, made faster, and what a
trusted sealer's ARC-Authentication-Results report.

The verifier subclasses dkimpy's ARC class and overrides two of its
private methods (key loading and RSA-SHA256 checking); check_dkimpy()
makes sure the installed dkimpy still has them.
"""

import base64
import hashlib
import importlib.metadata
import inspect
import logging
import re

import dkim
import dkim.util
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from dkim.canonicalization import (CanonicalizationPolicy,
                                   InvalidCanonicalizationPolicyError)

from . import authresults, dkimverify
from .psl import normalize_domain
from .resolver import DNSTempError
from .verdict import ARCResult

__all__ = ['ARCChecker', 'MAX_ARC_SETS', 'check_dkimpy']

# RFC 8617 5.1.1: a chain of more than 50 sets is to be treated as failed.
# dkimpy's verify() has no such limit, and each set hashes all earlier ones.
MAX_ARC_SETS = 50

# dkimpy logs every failing signature at ERROR level; keep that quiet.
_dkim_log = logging.getLogger('mailman_antibackscatter.auth.dkimpy')
_dkim_log.addHandler(logging.NullHandler())
_dkim_log.propagate = False
_dkim_log.setLevel(logging.CRITICAL + 1)

# The dkimpy internals the verifier relies on: methods it overrides (with
# their parameters) and module functions it calls.
_OVERRIDDEN = {
    'verify_sig': ('self', 'sig', 'include_headers', 'sig_header',
                   'dnsfunc'),
    'verify_sig_process': ('self', 'sig', 'include_headers', 'sig_header',
                           'dnsfunc'),
}
_CALLED = ('evaluate_pk', 'hash_headers', 'rfc822_parse')


def check_dkimpy():
    """Raise RuntimeError unless the installed dkimpy has the private
    methods and functions the ARC verifier overrides or calls, so that a
    dkimpy upgrade fails loudly instead of silently bypassing them."""
    problems = []
    for name, params in _OVERRIDDEN.items():
        method = getattr(dkim.ARC, name, None)
        if method is None:
            problems.append('dkim.ARC.%s is gone' % name)
            continue
        found = tuple(inspect.signature(method).parameters)
        if found != params:
            problems.append('dkim.ARC.%s%r, expected %r' % (
                name, found, params))
    problems.extend('dkim.%s is gone' % name for name in _CALLED
                    if not callable(getattr(dkim, name, None)))
    if problems:
        try:
            version = importlib.metadata.version('dkimpy')
        except importlib.metadata.PackageNotFoundError:
            version = '?'
        raise RuntimeError('unsupported dkimpy %s: %s' % (
            version, '; '.join(problems)))


def _load_dkimpy_key(name, txt):
    """dkimpy's parsed key, plus a `cryptography` RSA key for fast checks."""
    pk, keysize, ktag, seqtlsrpt = dkim.evaluate_pk(name, txt)
    rsa_key = None
    if ktag == b'rsa':
        try:
            rsa_key = rsa.RSAPublicNumbers(
                pk['publicExponent'], pk['modulus']).public_key()
        except Exception:
            rsa_key = None      # dkimpy's own RSA code handles it
    return (pk, keysize, ktag, seqtlsrpt, rsa_key)


class _CachedKeys:
    """Mixin replacing DomainSigner.verify_sig's key loading with our
    cache of parsed keys."""
    key_cache = None

    def verify_sig(self, sig, include_headers, sig_header, dnsfunc):
        name = sig[b's'] + b'._domainkey.' + sig[b'd'] + b'.'
        txt = dnsfunc(name)       # DNSTempError propagates
        try:
            (self.pk, self.keysize, self.ktag, self.seqtlsrpt,
             self.rsa_key) = self.key_cache.load(name, txt)
        except (dkim.KeyFormatError, ValueError, TypeError):
            return False
        return self.verify_sig_process(sig, include_headers, sig_header,
                                       dnsfunc)


_PKCS1 = padding.PKCS1v15()
_PREHASHED_SHA256 = Prehashed(hashes.SHA256())
_WS = re.compile(rb'\s+')


class _ARC(_CachedKeys, dkim.ARC):
    """dkimpy's ARC verifier with RSA-SHA256 done by ``cryptography``, body
    hashes and canonicalized header lists shared between the ARC sets of a
    message (and with the DKIM verifier, through ``dkim_message``, the
    dkimverify.Message it used).  Everything else (ARC semantics, header
    selection, ed25519, rsa-sha1) stays dkimpy's."""
    rsa_key = None
    dkim_message = None

    def verify_sig_process(self, sig, include_headers, sig_header, dnsfunc):
        if (self.ktag != b'rsa' or self.rsa_key is None or self.seqtlsrpt
                or sig.get(b'a') != b'rsa-sha256'):
            return super().verify_sig_process(sig, include_headers,
                                              sig_header, dnsfunc)
        c_value = sig.get(b'c', b'simple/simple')
        try:
            canon = CanonicalizationPolicy.from_c_value(c_value)
        except InvalidCanonicalizationPolicyError as exc:
            raise dkim.MessageFormatError(
                'invalid c= value: %s' % exc.args[0])
        cache = self.__dict__.setdefault('_shared', {})
        if b'bh' in sig:
            self._check_body_hash(sig, canon, c_value, cache)
        if b'from' in include_headers:
            include_headers.append(b'from')
        key = ('headers', c_value)
        headers = cache.get(key)
        if headers is None:
            headers = cache[key] = canon.canonicalize_headers(self.headers)
        digest = hashlib.sha256()
        self.signed_headers = dkim.hash_headers(
            digest, canon, headers, include_headers, sig_header, sig)
        signature = base64.b64decode(_WS.sub(b'', sig[b'b']))
        try:
            self.rsa_key.verify(signature, digest.digest(), _PKCS1,
                                _PREHASHED_SHA256)
        except InvalidSignature:
            return False
        if self.keysize < self.minkey:
            raise dkim.KeyFormatError(
                'public key too small: %d' % self.keysize)
        return True

    def _check_body_hash(self, sig, canon, c_value, cache):
        key = ('bh', c_value, sig.get(b'l'))
        bodyhash = cache.get(key)
        if bodyhash is None and self.dkim_message is not None:
            bodyhash = cache[key] = self.dkim_message.body_hash(
                canon.body_algorithm.name == b'relaxed',
                int(sig[b'l']) if b'l' in sig else None)[0]
        if bodyhash is None:
            body = canon.canonicalize_body(self.body)
            if b'l' in sig:
                body = body[:int(sig[b'l'])]
            bodyhash = cache[key] = hashlib.sha256(body).digest()
        try:
            bh = base64.b64decode(_WS.sub(b'', sig[b'bh']))
        except (TypeError, ValueError) as exc:
            raise dkim.MessageFormatError(str(exc))
        if bodyhash != bh:
            raise dkim.ValidationError('body hash mismatch')


def _text(value):
    if isinstance(value, bytes):
        return value.decode('ascii', 'replace')
    return value or ''


_LINE_ENDINGS = re.compile(rb'\r?\n')


def _dkimpy_parse(raw, body_offset, message=None):
    """dkimpy's (headers, body, same_split) split, done once per message;
    returns the exception instead for a message dkimpy cannot parse.
    same_split tells whether dkimpy's body is the one our header parse
    found (so that *message*, a dkimverify.Message, can stand in for it).

    Only the header block goes through dkimpy's line splitter; the body is
    taken as is when it already uses CRLF throughout (the common case, and
    what dkimpy's split-and-join would produce), which saves two passes over
    large bodies."""
    try:
        headers, rest = dkim.rfc822_parse(raw[:body_offset])
        if rest:
            headers, body = dkim.rfc822_parse(raw)
            return headers, body, False
        if message is not None:
            return headers, message.body(), True
        body = raw[body_offset:]
        if body.count(b'\n') != body.count(b'\r\n'):
            body = _LINE_ENDINGS.sub(b'\r\n', body)
        return headers, body, True
    except Exception as exc:
        # dkimpy's parser raises more than DKIMException on hostile header
        # blocks (IndexError for a leading continuation line).
        return exc
    except (IndexError, ValueError) as exc:
        # dkimpy's parser indexes past its header list on a block that
        # starts with a continuation line
        return dkim.MessageFormatError('%s in dkimpy parser' % (
            type(exc).__name__,))


def _refused(headers):
    """Why the ARC headers of a message are refused before dkimpy sees
    them, or None: too many sets, or a seal or signature whose tags or
    b=/bh= values do not parse.  Checked here in linear time, because
    dkimpy validates b= with a regex that backtracks on white space."""
    seals = 0
    for name, value in headers:
        lname = name.lower()
        if lname == b'arc-seal':
            seals += 1
            if seals > MAX_ARC_SETS:
                return 'more than %d ARC sets (RFC 8617)' % MAX_ARC_SETS
            wanted = (b'b',)
        elif lname == b'arc-message-signature':
            wanted = (b'b', b'bh')
        else:
            continue
        label = 'ARC-Seal' if lname == b'arc-seal' else \
            'ARC-Message-Signature'
        try:
            tags = dkimverify.parse_tags(value)
        except dkimverify.TagListError as exc:
            return '%s: %s' % (label, exc)
        for tag in wanted:
            if tag in tags and dkimverify.decode_base64(tags[tag]) is None:
                return '%s %s= value is not valid base64' % (
                    label, tag.decode('ascii'))
    return None


def _newest_sealer(arc):
    best, sealer = -1, None
    for name, value in getattr(arc, 'headers', ()):
        if name.lower() != b'arc-seal':
            continue
        try:
            tags = dkim.util.parse_tag_value(value)
            instance = int(tags.get(b'i', b'0'))
        except Exception:
            continue
        if instance > best:
            best, sealer = instance, normalize_domain(_text(tags.get(b'd')))
    return sealer


_AAR_INSTANCE = re.compile(r'^\s*i\s*=\s*\d+\s*;\s*', re.I)


def _sealer_reports(aar):
    """(dkim domains, spf domain, dmarc domains) that pass in the value of
    an ARC-Authentication-Results header; what cannot be parsed counts
    as nothing."""
    dkim_domains, spf_domain, dmarc_domains = [], None, []
    try:
        _claimed, results = authresults.parse(
            _AAR_INSTANCE.sub('', aar, count=1))
        for method, domain in authresults.passes(results):
            if method == 'dkim':
                dkim_domains.append(domain)
            elif method == 'spf' and spf_domain is None:
                spf_domain = domain
            elif method == 'dmarc':
                dmarc_domains.append(domain)
    except Exception:
        pass
    return tuple(dkim_domains), spf_domain, tuple(dmarc_domains)


class ARCChecker:
    """Validates the ARC chain of one message at a time; only a chain
    sealed by one of *trusted_sealers* is trusted."""

    def __init__(self, resolver, min_key_bits, timeout, trusted_sealers):
        check_dkimpy()
        self.resolver = resolver
        self.min_key_bits = min_key_bits
        self.timeout = timeout
        self.trusted_sealers = frozenset(
            normalize_domain(x) for x in trusted_sealers)
        self.keys = dkimverify.KeyCache(loader=_load_dkimpy_key)

    def check(self, raw, body_offset, message=None):
        """The ARCResult for the message *raw*, whose body starts at
        *body_offset*; *message* (the dkimverify.Message of *raw*) shares
        its body hashes with DKIM."""
        parsed = _dkimpy_parse(raw, body_offset, message)
        if isinstance(parsed, Exception):
            return ARCResult('fail', reason='unparsable message: %s' % parsed)
        # dkimpy's verify() only reads .headers and .body.
        arc = _ARC(None, logger=_dkim_log, minkey=0, timeout=self.timeout)
        arc.headers, arc.body = parsed[0], parsed[1]
        arc.key_cache = self.keys
        arc.dkim_message = message if parsed[2] else None
        arc.minkey = self.min_key_bits
        refused = _refused(arc.headers)
        if refused:
            return ARCResult('fail', _newest_sealer(arc), False,
                             reason=refused)
        try:
            cv, results, why = arc.verify(dnsfunc=self.resolver.get_txt)
        except DNSTempError as exc:
            sealer = _newest_sealer(arc)
            return ARCResult('fail', sealer, False, reason='DNS: %s' % exc,
                             temperror=True)
        except Exception as exc:
            return ARCResult('fail', _newest_sealer(arc), False,
                             reason='ARC error: %s' % exc)
        sealer = (normalize_domain(_text(results[0].get('as-domain')))
                  if results else _newest_sealer(arc))
        if cv == dkim.CV_Pass:
            result = 'pass'
        elif cv == dkim.CV_None:
            return ARCResult('none', sealer, False, reason=_text(why))
        else:
            result = 'fail'
        trusted = result == 'pass' and sealer in self.trusted_sealers
        if not trusted:
            return ARCResult(result, sealer, False, reason=_text(why)[:160])
        dkim_domains, spf_domain, dmarc_domains = _sealer_reports(
            _text(results[0].get('aar-value')))
        return ARCResult('pass', sealer, True, dkim_domains, spf_domain,
                         dmarc_domains, reason='chain valid')
