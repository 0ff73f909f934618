# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Authenticator: SPF (pyspf), DKIM and ARC (dkimpy), alignment, DMARC
policy lookup and the Authentication-Results stamp.  No Mailman imports."""

import base64
import dataclasses
import hashlib
import ipaddress
import logging
import re
import threading
import time

import authres
import dkim
import dkim.util
import spf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from dkim.canonicalization import (CanonicalizationPolicy,
                                   InvalidCanonicalizationPolicyError)

from . import dkimverify
from .headers import (parse_address, parse_headers, parse_received,
                      parse_received_spf)
from .psl import PublicSuffixList, normalize_domain
from .resolver import CachingResolver, DNSTempError
from .verdict import (ARCResult, ClientInfo, DKIMResult, SPFResult, Status,
                      Verdict)

__all__ = ['Authenticator', 'EngineSettings']

log = logging.getLogger('mailman_antibackscatter.auth')

# Signatures beyond this many are not verified (each one costs a DNS lookup
# and a pass over the body); they are reported with result 'policy'.
MAX_SIGNATURES = 20

# dkimpy logs every failing signature at ERROR level; keep that quiet.
_dkim_log = logging.getLogger('mailman_antibackscatter.auth.dkimpy')
_dkim_log.addHandler(logging.NullHandler())
_dkim_log.propagate = False
_dkim_log.setLevel(logging.CRITICAL + 1)


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    authserv_id: str = 'localhost'
    trusted_authserv_ids: frozenset = frozenset()
    trusted_arc_sealers: frozenset = frozenset()
    internal_networks: tuple = ('127.0.0.0/8', '::1/128')
    alignment: str = 'relaxed'
    nameservers: tuple = ()
    dns_timeout: float = 5.0
    dns_cache_size: int = 10000
    min_key_bits: int = 1024
    public_suffix_list: 'str | None' = None
    spf: bool = True
    dkim: bool = True
    arc: bool = True


# -- routing pyspf through our resolver --------------------------------------

_active = threading.local()
_original_spf_lookup = spf.DNSLookup


def _spf_dns_lookup(name, qtype, strict=True, timeout=30, *args, **kws):
    resolver = getattr(_active, 'resolver', None)
    if resolver is None:
        return _original_spf_lookup(name, qtype, strict, timeout)
    try:
        return resolver.spf_lookup(name, qtype)
    except DNSTempError as exc:
        raise spf.TempError('DNS %s' % exc)


_spf_dns_lookup.antibackscatter = True
if not getattr(spf.DNSLookup, 'antibackscatter', False):
    spf.DNSLookup = _spf_dns_lookup


# -- dkimpy with a parsed-key cache ------------------------------------------

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
    """Mixin replacing DomainSigner.verify_sig's key loading with our cache
    and remembering *why* a key could not be used."""
    key_cache = None
    key_error = None

    def verify_sig(self, sig, include_headers, sig_header, dnsfunc):
        name = sig[b's'] + b'._domainkey.' + sig[b'd'] + b'.'
        txt = dnsfunc(name)       # DNSTempError propagates
        try:
            (self.pk, self.keysize, self.ktag, self.seqtlsrpt,
             self.rsa_key) = self.key_cache.load(name, txt)
        except (dkim.KeyFormatError, ValueError, TypeError) as exc:
            self.key_error = str(exc) or 'bad key'
            self.key_missing = not txt
            return False
        self.key_error = None
        return self.verify_sig_process(sig, include_headers, sig_header, dnsfunc)


_PKCS1 = padding.PKCS1v15()
_PREHASHED_SHA256 = Prehashed(hashes.SHA256())
_WS = re.compile(rb'\s+')


class _ARC(_CachedKeys, dkim.ARC):
    """dkimpy's ARC verifier with RSA-SHA256 done by ``cryptography``, body
    hashes and canonicalized header lists shared between the ARC sets of a
    message (and with the DKIM verifier, through ``lean``, a
    dkimverify.Message).  Everything else (ARC semantics, header selection,
    ed25519, rsa-sha1) stays dkimpy's."""
    rsa_key = None
    lean = None

    def verify_sig_process(self, sig, include_headers, sig_header, dnsfunc):
        if (self.ktag != b'rsa' or self.rsa_key is None or self.seqtlsrpt
                or sig.get(b'a') != b'rsa-sha256'):
            return super().verify_sig_process(sig, include_headers,
                                              sig_header, dnsfunc)
        c_value = sig.get(b'c', b'simple/simple')
        try:
            canon = CanonicalizationPolicy.from_c_value(c_value)
        except InvalidCanonicalizationPolicyError as exc:
            raise dkim.MessageFormatError('invalid c= value: %s' % exc.args[0])
        cache = self.__dict__.setdefault('_shared', {})
        if b'bh' in sig:
            key = ('bh', c_value, sig.get(b'l'))
            bodyhash = cache.get(key)
            if bodyhash is None and self.lean is not None:
                bodyhash = cache[key] = self.lean.body_hash(
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
            raise dkim.KeyFormatError('public key too small: %d' % self.keysize)
        return True


def _text(value):
    if isinstance(value, bytes):
        return value.decode('ascii', 'replace')
    return value or ''


def _domain_of(address):
    if not address or '@' not in address:
        return normalize_domain(address) if address else ''
    return normalize_domain(address.rpartition('@')[2])


def _leading_authserv_id(value):
    """The authserv-id of an A-R value, skipping (nested) CFWS comments."""
    depth, index, length = 0, 0, len(value)
    while index < length:
        char = value[index]
        if char == '\\' and depth:
            index += 2
            continue
        if char == '(':
            depth += 1
        elif char == ')' and depth:
            depth -= 1
        elif not depth and not char.isspace():
            break
        index += 1
    match = re.match(r'[^\s;()]+', value[index:])
    return match.group(0) if match else None
_AAR_INSTANCE = re.compile(r'^\s*i\s*=\s*\d+\s*;\s*', re.I)


class _Facts:
    """Mutable scratch state for one authenticate() call."""

    def __init__(self):
        self.spf = None
        self.dkim = []
        self.arc = None
        self.dmarc_policy = None
        self.dmarc_temperror = False
        self.trusted = []    # (method, domain) passes from trusted A-R headers
        self.temperror = False


class Authenticator:
    """Thread-safe sender authentication engine."""

    def __init__(self, settings=None):
        self.settings = settings = settings or EngineSettings()
        self.authserv_id = settings.authserv_id.lower()
        self.trusted_ids = frozenset(
            x.lower() for x in settings.trusted_authserv_ids) - {self.authserv_id}
        self.trusted_sealers = frozenset(
            normalize_domain(x) for x in settings.trusted_arc_sealers)
        self.networks = tuple(ipaddress.ip_network(n, strict=False)
                              for n in settings.internal_networks)
        self.resolver = CachingResolver(
            nameservers=tuple(settings.nameservers),
            cache_size=settings.dns_cache_size,
            timeout=settings.dns_timeout)
        self.psl = PublicSuffixList.default(settings.public_suffix_list)
        self._keys = dkimverify.KeyCache(loader=_load_dkimpy_key)
        self._dkim_keys = dkimverify.KeyCache()
        if settings.alignment not in ('relaxed', 'strict'):
            raise ValueError('alignment must be relaxed or strict')

    # -- helpers -----------------------------------------------------------

    def aligned(self, domain_a, domain_b):
        a, b = normalize_domain(domain_a), normalize_domain(domain_b)
        if not a or not b:
            return False
        if a == b:
            return True
        if self.settings.alignment == 'strict':
            return False
        return self.psl.org_domain(a) == self.psl.org_domain(b)

    def _internal(self, ip):
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.networks
                   if net.version == addr.version)

    def _trust_zone(self, headers):
        """Return (zone_end, ip, helo).

        Headers with index < zone_end were added by our own (local) hosts:
        everything above and including the first Received header whose client
        is external.  With only internal Received headers the whole header is
        local; without any Received header nothing is.
        """
        seen_received = False
        for index, header in enumerate(headers):
            if header.lname != 'received':
                continue
            seen_received = True
            ip, helo = parse_received(header.value)
            if ip is None or self._internal(ip):
                continue
            return index + 1, ip, helo
        return (len(headers) if seen_received else 0), None, None

    @staticmethod
    def _claimed_id(header):
        if header.lname == 'authentication-results':
            claimed = _leading_authserv_id(header.value)
            return claimed.lower() if claimed else None
        if header.lname == 'received-spf':
            _result, pairs = parse_received_spf(header.value)
            receiver = pairs.get('receiver')
            return receiver.lower() if receiver else None
        return None

    # -- public API ----------------------------------------------------------

    def authenticate(self, raw, mail_from, client=None):
        try:
            return self._authenticate(raw, mail_from, client)
        except Exception as exc:     # never raise for bad input
            log.exception('authentication failed unexpectedly')
            # Undecided, like a DNS failure: held quietly, never answered,
            # never discarded.
            return Verdict(
                mail_from=_norm_mail_from(mail_from), client=client,
                from_status=Status.TEMPERROR, temperror=True,
                reason='internal error while authenticating: %s' % (
                    type(exc).__name__,))

    def stamp(self, raw, verdict, seal=None):
        if isinstance(raw, str):
            raw = raw.encode('utf-8', 'surrogateescape')
        raw = bytes(raw)
        headers, body_offset, linesep, _problems = parse_headers(raw)
        zone_end, _ip, _helo = self._trust_zone(headers)
        remove = []
        for index, header in enumerate(headers):
            if header.lname not in ('authentication-results', 'received-spf'):
                continue
            claimed = self._claimed_id(header)
            if claimed is None:
                continue
            if claimed == self.authserv_id or (
                    claimed in self.trusted_ids and index >= zone_end):
                remove.append((header.start, header.end))
        value = verdict.authentication_results(self.settings.authserv_id,
                                               seal=seal)
        parts = [b'Authentication-Results: ',
                 _fold(value, linesep).encode('utf-8', 'replace'), linesep]
        pos = 0
        for start, end in remove:
            parts.append(raw[pos:start])
            pos = end
        parts.append(raw[pos:])
        return b''.join(parts)

    # -- the work ----------------------------------------------------------

    def _authenticate(self, raw, mail_from, client):
        if isinstance(raw, str):
            raw = raw.encode('utf-8', 'surrogateescape')
        raw = bytes(raw or b'')
        settings = self.settings
        headers, body_offset, _linesep, problems = parse_headers(raw)
        mail_from = _norm_mail_from(mail_from)

        # The From address.
        from_headers = [h for h in headers if h.lname == 'from']
        from_address = None
        from_problem = None
        if not from_headers:
            from_problem = 'message has no From header'
        elif len(from_headers) > 1:
            from_problem = 'message has %d From headers' % len(from_headers)
        else:
            header = from_headers[0]
            try:
                raw[header.start:header.end].decode('utf-8')
                from_address = parse_address(header.value)
            except UnicodeDecodeError:
                from_address = None
            if from_address is None:
                from_problem = 'From header does not hold exactly one valid address'

        # Who connected, and which local headers we trust.
        zone_end, rcv_ip, rcv_helo = self._trust_zone(headers)
        facts = _Facts()
        header_client = self._trusted_headers(headers[:zone_end], facts)
        if client is None:
            if header_client is not None:
                client = header_client
            elif rcv_ip is not None:
                client = ClientInfo(rcv_ip, rcv_helo, 'received')
            else:
                client = ClientInfo(None, None, 'unknown')

        _active.resolver = self.resolver
        try:
            with self.resolver.budget(settings.dns_timeout):
                if settings.spf:
                    facts.spf = self._check_spf(mail_from, client)
                want_dkim = settings.dkim and any(
                    h.lname == 'dkim-signature' for h in headers)
                want_arc = settings.arc and any(
                    h.lname == 'arc-seal' for h in headers)
                # one lean view of the message: DKIM and ARC share its
                # canonical forms and body hashes
                lean = (dkimverify.Message(raw, headers, body_offset)
                        if (want_dkim or want_arc) and not problems else None)
                if want_dkim:
                    facts.dkim = self._check_dkim(lean, problems)
                if want_arc:
                    facts.arc = self._check_arc(
                        _dkim_parse(raw, body_offset, lean), lean)
                if from_address is not None:
                    self._lookup_dmarc(_domain_of(from_address), facts)
        finally:
            _active.resolver = None

        facts.temperror = bool(
            (facts.spf and facts.spf.result == 'temperror')
            or any(d.result == 'temperror' for d in facts.dkim)
            or (facts.arc and facts.arc.temperror)
            or facts.dmarc_temperror)

        if from_address is not None:
            from_status, reason = self._status_from(from_address, facts)
        else:
            from_status = Status.NONE
            reason = from_problem
            if problems:
                reason += '; malformed header: %s' % problems[0]
        mf_status, mf_reason = self._status_mail_from(
            mail_from, from_address, from_status, reason, facts)
        return Verdict(
            from_address=from_address, mail_from=mail_from, client=client,
            spf=facts.spf, dkim=tuple(facts.dkim), arc=facts.arc,
            dmarc_policy=facts.dmarc_policy, from_status=from_status,
            mail_from_status=mf_status, reason=reason,
            mail_from_reason=mf_reason, temperror=facts.temperror,
            trusted_results=tuple(facts.trusted))

    # -- trusted local headers ---------------------------------------------

    def _trusted_headers(self, zone, facts):
        """Collect results from A-R / Received-SPF headers that our own hosts
        added with a trusted authserv-id; return a ClientInfo if they say who
        connected."""
        client = None
        if not self.trusted_ids:
            return None
        for header in zone:
            if header.lname == 'received-spf':
                result, pairs = parse_received_spf(header.value)
                if (pairs.get('receiver') or '').lower() not in self.trusted_ids:
                    continue
                ip = pairs.get('client-ip')
                if client is None and ip:
                    client = ClientInfo(ip, pairs.get('helo'), 'header')
                if result == 'pass':
                    if pairs.get('identity', 'mailfrom').lower() == 'helo':
                        domain = normalize_domain(pairs.get('helo'))
                    else:
                        domain = _domain_of(pairs.get('envelope-from'))
                    if domain:
                        facts.trusted.append(('spf', domain))
            elif header.lname == 'authentication-results':
                if self._claimed_id(header) not in self.trusted_ids:
                    continue
                try:
                    results = _ar_results(header.value)
                except Exception:
                    continue
                facts.trusted.extend(_passes(results))
                if client is None:
                    ip = helo = None
                    for res in results:
                        for prop in getattr(res, 'properties', ()):
                            key = '%s.%s' % (prop.type, prop.name)
                            if key in ('policy.iprev', 'smtp.remote-ip',
                                       'smtp.client-ip') and not ip:
                                ip = str(prop.value)
                            elif key == 'smtp.helo' and not helo:
                                helo = str(prop.value)
                    if ip:
                        client = ClientInfo(ip, helo, 'header')
        return client

    # -- SPF -----------------------------------------------------------------

    def _check_spf(self, mail_from, client):
        if mail_from is None:
            return None
        helo = (client.helo or '').strip() if client else ''
        if mail_from == '':
            identity, domain = 'helo', normalize_domain(helo)
            if not domain or domain.startswith('[') or _is_ip(domain):
                return SPFResult('none', domain, identity,
                                 'null sender without a usable HELO name')
        else:
            identity, domain = 'mailfrom', _domain_of(mail_from)
        if not domain:
            return SPFResult('none', domain, identity, 'no domain to check')
        ip = client.ip if client else None
        if not ip or not _is_ip(ip):
            return SPFResult('none', domain, identity, 'client IP unknown')
        try:
            result, _code, explanation = spf.query(
                i=ip, s=mail_from, h=helo or domain,
                receiver=self.settings.authserv_id,
                timeout=self.settings.dns_timeout, querytime=0).check()
        except Exception as exc:
            return SPFResult('permerror', domain, identity,
                             'SPF evaluation error: %s' % exc)
        result = (result or 'none').lower()
        if result not in ('pass', 'fail', 'softfail', 'neutral', 'none',
                          'temperror', 'permerror'):
            result = 'permerror'
        return SPFResult(result, domain, identity, str(explanation or '')[:200])

    # -- DKIM ----------------------------------------------------------------

    def _new_signer(self, cls, parsed):
        """A dkimpy verifier sharing one parse of the message (dkimpy's
        verify() only reads .headers and .body)."""
        signer = cls(None, logger=_dkim_log, minkey=0,
                     timeout=self.settings.dns_timeout)
        signer.headers, signer.body = parsed[0], parsed[1]
        signer.key_cache = self._keys
        return signer

    def _check_dkim(self, msg, problems):
        if problems:
            # dkimpy refuses such messages as a whole; so do we.
            return [DKIMResult('permerror', '', '',
                               'unparsable message: %s' % problems[0])]
        headers = msg.headers
        get_txt = self.resolver.get_txt
        min_bits = self.settings.min_key_bits
        results = []
        now = time.time()
        for header in headers:
            if header.lname != 'dkim-signature':
                continue
            if len(results) >= MAX_SIGNATURES:
                results.append(DKIMResult(
                    'policy', '', '', 'not verified: more than %d signatures'
                    % MAX_SIGNATURES))
                continue
            try:
                results.append(dkimverify.verify_signature(
                    msg, header, get_txt, self._dkim_keys, now, min_bits))
            except Exception as exc:
                results.append(DKIMResult(
                    'permerror', '', '',
                    'verification error: %s' % type(exc).__name__))
        return results

    # -- ARC -----------------------------------------------------------------

    def _check_arc(self, parsed, lean=None):
        if isinstance(parsed, Exception):
            return ARCResult('fail', reason='unparsable message: %s' % parsed)
        arc = self._new_signer(_ARC, parsed)
        arc.lean = lean if parsed[2] else None
        arc.minkey = self.settings.min_key_bits
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
        aar = _text(results[0].get('aar-value'))
        dkim_domains, spf_domain, dmarc_domains = [], None, []
        try:
            results = _ar_results(_AAR_INSTANCE.sub('', aar, count=1))
            for method, domain in _passes(results):
                if method == 'dkim':
                    dkim_domains.append(domain)
                elif method == 'spf' and spf_domain is None:
                    spf_domain = domain
                elif method == 'dmarc':
                    dmarc_domains.append(domain)
        except Exception:
            pass
        return ARCResult('pass', sealer, True, tuple(dkim_domains), spf_domain,
                         tuple(dmarc_domains), reason='chain valid')

    # -- DMARC -----------------------------------------------------------------

    def _lookup_dmarc(self, domain, facts):
        if not domain:
            return
        org = self.psl.org_domain(domain)
        try:
            policy = self._dmarc_record(domain, subdomain=False)
            if policy is _NO_RECORD and org and org != domain:
                policy = self._dmarc_record(org, subdomain=True)
        except DNSTempError:
            facts.dmarc_temperror = True
            return
        facts.dmarc_policy = None if policy is _NO_RECORD else policy

    def _dmarc_record(self, domain, subdomain):
        records = []
        for rdata in self.resolver.lookup('_dmarc.' + domain, 'TXT'):
            txt = b''.join(rdata.strings)
            head = txt[:24].lower().replace(b' ', b'').replace(b'\t', b'')
            if head.startswith(b'v=dmarc1') and head[8:9] in (b'', b';'):
                records.append(txt)
        if len(records) != 1:
            return _NO_RECORD
        tags = {}
        for part in records[0].decode('ascii', 'replace').split(';'):
            key, eq, val = part.partition('=')
            if eq:
                tags[key.strip().lower()] = val.strip().lower()
        policy = tags.get('p')
        if subdomain and tags.get('sp') in ('none', 'quarantine', 'reject'):
            policy = tags['sp']
        if policy not in ('none', 'quarantine', 'reject'):
            return None
        return policy

    # -- status ----------------------------------------------------------------

    def _status_from(self, address, facts):
        domain = _domain_of(address)
        spf_r = facts.spf
        # PASS
        if spf_r and spf_r.result == 'pass' and self.aligned(spf_r.domain, domain):
            return Status.PASS, 'spf=pass %s %s aligned with From %s' % (
                'smtp.helo' if spf_r.identity == 'helo' else 'smtp.mailfrom',
                spf_r.domain, domain)
        for sig in facts.dkim:
            if sig.result == 'pass' and self.aligned(sig.domain, domain):
                return Status.PASS, 'dkim=pass header.d=%s aligned with From %s' % (
                    sig.domain, domain)
        arc = facts.arc
        if arc and arc.trusted:
            hit = self._reported_pass(
                domain, [('dmarc', d) for d in arc.dmarc_domains]
                + [('dkim', d) for d in arc.dkim_domains]
                + ([('spf', arc.spf_domain)] if arc.spf_domain else []))
            if hit:
                return Status.PASS, 'trusted ARC sealer %s reports %s=pass for %s (From %s)' % (
                    arc.sealer, hit[0], hit[1], domain)
        hit = self._reported_pass(domain, facts.trusted)
        if hit:
            return Status.PASS, 'trusted local Authentication-Results report %s=pass for %s (From %s)' % (
                hit[0], hit[1], domain)
        # TEMPERROR
        if spf_r and spf_r.result == 'temperror' and self.aligned(spf_r.domain, domain):
            return Status.TEMPERROR, 'DNS temporary error during SPF check of %s' % spf_r.domain
        for sig in facts.dkim:
            if sig.result == 'temperror' and self.aligned(sig.domain, domain):
                return Status.TEMPERROR, 'DNS temporary error fetching DKIM key %s._domainkey.%s' % (
                    sig.selector, sig.domain)
        if arc and arc.temperror and arc.sealer in self.trusted_sealers:
            return Status.TEMPERROR, 'DNS temporary error verifying ARC chain sealed by %s' % arc.sealer
        if facts.dmarc_temperror:
            return Status.TEMPERROR, 'DNS temporary error looking up the DMARC policy of %s' % domain
        # FAIL
        if spf_r and spf_r.result == 'fail' and self.aligned(spf_r.domain, domain):
            return Status.FAIL, 'spf=fail for %s aligned with From %s' % (spf_r.domain, domain)
        if facts.dmarc_policy in ('quarantine', 'reject'):
            return Status.FAIL, ('From domain %s publishes DMARC p=%s and nothing aligned passes (%s)'
                                 % (domain, facts.dmarc_policy, self._summary(facts)))
        return Status.NONE, 'no aligned authentication for From %s (%s)' % (
            domain, self._summary(facts))

    def _reported_pass(self, domain, passes):
        for method, reported in passes:
            if method == 'dmarc':
                if normalize_domain(reported) == domain:
                    return method, reported
            elif self.aligned(reported, domain):
                return method, reported
        return None

    @staticmethod
    def _summary(facts):
        parts = ['spf=%s' % (facts.spf.result if facts.spf else 'none')]
        if facts.dkim:
            parts.extend('dkim=%s header.d=%s' % (d.result, d.domain or '?')
                         for d in facts.dkim)
        else:
            parts.append('dkim=none')
        if facts.arc:
            parts.append('arc=%s' % facts.arc.result)
        return ', '.join(parts)

    def _status_mail_from(self, mail_from, from_address, from_status,
                          from_reason, facts):
        if mail_from is None:
            return Status.NONE, 'envelope sender unknown'
        if mail_from == '':
            return Status.NONE, 'null envelope sender'
        if mail_from == from_address:
            return from_status, from_reason
        domain = _domain_of(mail_from)
        spf_r = facts.spf
        if spf_r and spf_r.identity == 'mailfrom' and spf_r.result == 'pass':
            return Status.PASS, 'spf=pass smtp.mailfrom=%s' % domain
        for sig in facts.dkim:
            if sig.result == 'pass' and self.aligned(sig.domain, domain):
                return Status.PASS, 'dkim=pass header.d=%s aligned with envelope sender %s' % (
                    sig.domain, domain)
        if spf_r and spf_r.identity == 'mailfrom' and spf_r.result == 'temperror':
            return Status.TEMPERROR, 'DNS temporary error during SPF check of %s' % domain
        for sig in facts.dkim:
            if sig.result == 'temperror' and self.aligned(sig.domain, domain):
                return Status.TEMPERROR, 'DNS temporary error fetching DKIM key of %s' % sig.domain
        if spf_r and spf_r.identity == 'mailfrom' and spf_r.result == 'fail':
            return Status.FAIL, 'spf=fail smtp.mailfrom=%s' % domain
        return Status.NONE, 'no authentication for envelope sender %s' % domain


_NO_RECORD = object()


class _Prop:
    __slots__ = ('type', 'name', 'value')

    def __init__(self, ptype, name, value):
        self.type, self.name, self.value = ptype, name, value


class _Res:
    __slots__ = ('method', 'result', 'properties')

    def __init__(self, method, result, properties):
        self.method, self.result, self.properties = method, result, properties


# The plain A-R values that _lean_ar_results() parses itself: an authserv-id
# and "method=result ptype.property=value ..." clauses, lower case, with no
# comments, quoted strings, versions or reason= (all else goes to authres).
_AR_ID = re.compile(r"[ \t]*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*[ \t]*")
_AR_CLAUSE = re.compile(
    r"[ \t]*([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)[ \t]*=[ \t]*([a-z0-9_-]+)"
    r"((?:[ \t]+(?:smtp|header|body|policy)\.[a-z0-9_-]+(?:\.[a-z0-9_-]+)*"
    r"=[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]+)*)[ \t]*")
_AR_AT_DOMAIN = re.compile(r'@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*')
_AR_PROP = re.compile(r"(smtp|header|body|policy)\.([a-z0-9_.-]+)=([^ \t]+)")


def _lean_ar_results(value):
    """authres-equivalent results for a plain A-R value, None otherwise."""
    if '(' in value or '"' in value or '\\' in value:
        return None
    parts = value.rstrip('\r\n\t ').split(';')
    if len(parts) < 2 or not _AR_ID.fullmatch(parts[0]):
        return None
    results = []
    for part in parts[1:]:
        m = _AR_CLAUSE.fullmatch(part)
        if m is None or m.group(1) == 'reason' or m.group(1) == 'none':
            return None
        props = []
        for ptype, name, pvalue in _AR_PROP.findall(m.group(3)):
            if pvalue[0] == '@' and not _AR_AT_DOMAIN.fullmatch(pvalue):
                return None
            props.append(_Prop(ptype, name, pvalue))
        results.append(_Res(m.group(1), m.group(2), props))
    return results


def _ar_results(value):
    """The result clauses of an A-R value (raises if unparsable)."""
    results = _lean_ar_results(value)
    if results is None:
        results = authres.AuthenticationResultsHeader.parse_value(value).results
    return results


def _passes(results):
    """(method, domain) pairs for passing dkim/spf/dmarc clauses."""
    out = []
    for res in results:
        method = getattr(res, 'method', None)
        if getattr(res, 'result', None) != 'pass':
            continue
        props = {'%s.%s' % (p.type, p.name): str(p.value or '')
                 for p in getattr(res, 'properties', ())}
        if method == 'dkim':
            domain = props.get('header.d') or _domain_of(props.get('header.i'))
        elif method == 'spf':
            domain = (_domain_of(props['smtp.mailfrom']) if props.get('smtp.mailfrom')
                      else normalize_domain(props.get('smtp.helo')))
        elif method == 'dmarc':
            domain = props.get('header.from')
            if domain and '@' in domain:
                domain = _domain_of(domain)
        else:
            continue
        domain = normalize_domain(domain)
        if domain:
            out.append((method, domain))
    return out


_LINE_ENDINGS = re.compile(rb'\r?\n')


def _dkim_parse(raw, body_offset, lean=None):
    """dkimpy's (headers, body, same_split) split, done once per message;
    returns the exception instead for a message dkimpy cannot parse.
    same_split tells whether dkimpy's body is the one our header parse
    found (so that ``lean``, a dkimverify.Message, can stand in for it).

    Only the header block goes through dkimpy's line splitter; the body is
    taken as is when it already uses CRLF throughout (the common case, and
    what dkimpy's split-and-join would produce), which saves two passes over
    large bodies."""
    try:
        headers, rest = dkim.rfc822_parse(raw[:body_offset])
        if rest:
            headers, body = dkim.rfc822_parse(raw)
            return headers, body, False
        if lean is not None:
            return headers, lean.body(), True
        body = raw[body_offset:]
        if body.count(b'\n') != body.count(b'\r\n'):
            body = _LINE_ENDINGS.sub(b'\r\n', body)
        return headers, body, True
    except dkim.DKIMException as exc:
        return exc


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


def _is_ip(text):
    try:
        ipaddress.ip_address(text.strip('[]'))
        return True
    except ValueError:
        return False


def _norm_mail_from(mail_from):
    if mail_from is None:
        return None
    if isinstance(mail_from, bytes):
        mail_from = mail_from.decode('utf-8', 'replace')
    mail_from = mail_from.strip()
    if mail_from.startswith('<') and mail_from.endswith('>'):
        mail_from = mail_from[1:-1].strip()
    return mail_from.lower()


def _fold(value, linesep, limit=78):
    """Fold an A-R value: a line break after every top-level ';' and wherever
    a line would exceed ``limit``, only at top-level whitespace (never inside
    quoted strings or comments)."""
    atoms = []
    depth = 0
    quoted = escape = False
    current = []
    for ch in value:
        if escape:
            escape = False
        elif ch == '\\' and (quoted or depth):
            escape = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == '(':
            depth += 1
        elif ch == ')':
            depth = max(0, depth - 1)
        elif ch in ' \t' and depth == 0:
            if current:
                atoms.append(''.join(current))
                current = []
            continue
        current.append(ch)
    if current:
        atoms.append(''.join(current))
    lines = []
    line = ''
    for atom in atoms:
        if line and (line.endswith(';') or len(line) + 1 + len(atom) > limit):
            lines.append(line)
            line = atom
        else:
            line = line + ' ' + atom if line else atom
    if line:
        lines.append(line)
    return (linesep.decode('ascii') + '\t').join(lines)
