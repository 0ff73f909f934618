# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Authenticator: runs the checks on a message and stamps the verdict.

Each check lives in its own module behind one method: the trust zone
(trustzone), SPF (spfcheck), DKIM (dkimcheck), ARC (arccheck), the DMARC
policy (dmarc) and the decision (decide); authresults writes our header.
"""

import dataclasses
import logging
import time

from . import authresults, dkimverify
from .alignment import Alignment
from .arccheck import ARCChecker
from .decide import Decider, Evidence
from .dkimcheck import DKIMChecker
from .dmarc import DMARCLookup
from .headers import domain_of, normalize_mail_from, parse_from, parse_headers
from .resolver import CachingResolver
from .spfcheck import SPFChecker
from .trustzone import TrustZone
from .verdict import ARCResult, Status, Verdict

__all__ = ['Authenticator', 'EngineSettings', 'MAX_HEADER_BYTES']

# DKIM and ARC look at no header block larger than this (Postfix keeps at
# most 102 400 bytes of headers by default): hashing and canonicalizing
# are linear, but dkimpy's ARC hashes every earlier set once per set.
MAX_HEADER_BYTES = 256 * 1024

log = logging.getLogger('mailman_antibackscatter.auth')

# The From domain's DMARC record is looked up first, with at most this
# share of the per-message DNS budget: it decides between fail and none
# for a forgery, so lookups the sender chooses (a signature's d=, the
# envelope domain's SPF) must not leave it without time.
DMARC_SHARE = 0.5


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    """How to authenticate: our authserv-id, whom to trust, DNS, checks."""
    authserv_id: str = 'localhost'
    trusted_authserv_ids: frozenset = frozenset()
    trusted_arc_sealers: frozenset = frozenset()
    internal_networks: tuple = ('127.0.0.0/8', '::1/128')
    local_hops: int = 0
    alignment: str = 'relaxed'
    nameservers: tuple = ()
    dns_timeout: float = 5.0
    dns_cache_size: int = 10000
    # CPU seconds (of the calling thread) one message may use; signatures
    # and ARC not checked by then are temporary errors, held quietly.
    cpu_budget: float = 1.0
    min_key_bits: int = 1024
    public_suffix_list: 'str | None' = None
    spf: bool = True
    dkim: bool = True
    arc: bool = True


def _as_bytes(raw):
    if isinstance(raw, str):
        raw = raw.encode('utf-8', 'surrogateescape')
    return bytes(raw)


def _from_address(raw):
    """The From address of *raw* as best it can be found, or None."""
    try:
        return parse_from(raw, parse_headers(raw)[0])[0]
    except Exception:
        return None


def _mail_from(mail_from):
    try:
        return normalize_mail_from(mail_from)
    except Exception:
        return None


class Authenticator:
    """Thread-safe sender authentication engine."""

    def __init__(self, settings=None):
        self.settings = settings = settings or EngineSettings()
        self.resolver = resolver = CachingResolver(
            nameservers=tuple(settings.nameservers),
            cache_size=settings.dns_cache_size,
            timeout=settings.dns_timeout)
        alignment = Alignment(settings.alignment, settings.public_suffix_list)
        self.zone = TrustZone(settings.authserv_id,
                              settings.trusted_authserv_ids,
                              settings.internal_networks,
                              settings.local_hops)
        self.spf = SPFChecker(resolver, settings.authserv_id,
                              settings.dns_timeout)
        self.dkim = DKIMChecker(resolver, settings.min_key_bits)
        self.arc = ARCChecker(resolver, settings.min_key_bits,
                              settings.dns_timeout,
                              settings.trusted_arc_sealers)
        self.dmarc = DMARCLookup(resolver, alignment)
        self.decider = Decider(alignment, self.arc.trusted_sealers)

    def authenticate(self, raw, mail_from, client=None):
        """The Verdict on message *raw* (bytes) from envelope sender
        *mail_from*, handed over by *client* (a ClientInfo, or None to
        take it from the headers).  Never raises."""
        raw = _as_bytes(raw or b'')
        try:
            return self._authenticate(raw, mail_from, client)
        except Exception as exc:     # never raise for bad input
            log.exception('authentication failed unexpectedly')
            # Undecided, like a DNS failure, for the message's own From:
            # held quietly, never answered, never discarded.
            return Verdict(
                from_address=_from_address(raw),
                mail_from=_mail_from(mail_from), client=client,
                from_status=Status.TEMPERROR, temperror=True,
                reason='internal error while authenticating: %s' % (
                    type(exc).__name__,))

    def stamp(self, raw, verdict):
        """*raw* with our Authentication-Results header for *verdict* on
        top, and every header claiming to be ours (or a trusted host's,
        outside the trust zone) removed."""
        raw = _as_bytes(raw)
        headers, _body_offset, linesep, _problems = parse_headers(raw)
        parts = [authresults.header_field(
            verdict, self.settings.authserv_id, linesep)]
        pos = 0
        for start, end in self.zone.stale_results(headers):
            parts.append(raw[pos:start])
            pos = end
        parts.append(raw[pos:])
        return b''.join(parts)

    def _authenticate(self, raw, mail_from, client):
        settings = self.settings
        headers, body_offset, _linesep, problems = parse_headers(raw)
        oversized = body_offset > MAX_HEADER_BYTES
        if oversized:
            problems = problems + [
                'header block larger than %d bytes' % MAX_HEADER_BYTES]
        mail_from = normalize_mail_from(mail_from)
        from_address, from_problem = parse_from(raw, headers)
        bare_cr = [p for p in problems if p.startswith('bare CR')]
        if bare_cr:
            # Mailman would read other headers (perhaps another From).
            from_address, from_problem = None, bare_cr[0]
        client, trusted = self.zone.survey(headers, client)
        evidence = Evidence(trusted)
        cpu_deadline = time.thread_time() + settings.cpu_budget

        def cpu_spent():
            return time.thread_time() >= cpu_deadline

        with self.resolver.budget(settings.dns_timeout):
            if from_address is not None:
                with self.resolver.share(settings.dns_timeout * DMARC_SHARE):
                    evidence.dmarc, evidence.dmarc_temperror = (
                        self.dmarc.policy(domain_of(from_address)))
            if settings.spf:
                evidence.spf = self.spf.check(mail_from, client)
            want_dkim = settings.dkim and any(
                h.lname == 'dkim-signature' for h in headers)
            want_arc = settings.arc and any(
                h.lname == 'arc-seal' for h in headers)
            # one view of the message for DKIM and ARC: they share its
            # canonical forms and body hashes
            message = (dkimverify.Message(raw, headers, body_offset)
                       if (want_dkim or want_arc) and not problems else None)
            if want_dkim:
                evidence.dkim = self.dkim.check(message, problems, cpu_spent)
            if want_arc and oversized:
                evidence.arc = ARCResult('fail', reason=problems[-1])
            elif want_arc and cpu_spent():
                evidence.arc = ARCResult(
                    'fail', reason='not checked: CPU budget spent',
                    temperror=True)
            elif want_arc:
                evidence.arc = self.arc.check(raw, body_offset, message)
        return self.decider.verdict(from_address, from_problem, problems,
                                    mail_from, client, evidence)
