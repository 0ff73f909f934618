# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decision: is the From address, and the envelope sender, proven?

PASS needs an aligned pass (SPF, DKIM, a trusted ARC sealer's report or a
trusted local Authentication-Results header); failing that, a temporary
DNS error on evidence that could still pass (aligned SPF or DKIM, a trusted
sealer) gives TEMPERROR; then an aligned SPF fail gives FAIL; then a
temporary error on the DMARC record gives TEMPERROR, and its policy of
quarantine/reject FAIL; anything else is NONE.  A temporary error on a
domain that does not align with From never decides anything.
"""

from .headers import domain_of
from .psl import normalize_domain
from .verdict import Status, Verdict

__all__ = ['Decider', 'Evidence']


class Evidence:
    """What the checks found for one message."""

    def __init__(self, trusted=()):
        self.spf = None
        self.dkim = []
        self.arc = None
        self.dmarc = None             # the From domain's DMARCRecord
        self.dmarc_temperror = False
        # (method, domain) passes from trusted A-R headers
        self.trusted = list(trusted)

    @property
    def dmarc_policy(self):
        """The DMARC policy that applies to the From domain, or None."""
        return self.dmarc.policy if self.dmarc is not None else None

    @property
    def temperror(self):
        """Did any lookup fail temporarily?"""
        return bool(
            (self.spf and self.spf.result == 'temperror')
            or any(d.result == 'temperror' for d in self.dkim)
            or (self.arc and self.arc.temperror)
            or self.dmarc_temperror)

    def summary(self):
        """The results in short, for a reason."""
        parts = ['spf=%s' % (self.spf.result if self.spf else 'none')]
        if self.dkim:
            parts.extend('dkim=%s header.d=%s' % (d.result, d.domain or '?')
                         for d in self.dkim)
        else:
            parts.append('dkim=none')
        if self.arc:
            parts.append('arc=%s' % self.arc.result)
        return ', '.join(parts)


class Decider:
    """Turns Evidence into a Verdict, given the *alignment* rules and the
    ARC sealers we trust."""

    def __init__(self, alignment, trusted_sealers):
        self.aligned = alignment.aligned
        self.trusted_sealers = trusted_sealers

    def verdict(self, from_address, from_problem, problems, mail_from,
                client, evidence):
        """The Verdict of a message with this author (None and
        *from_problem* when there is none), header *problems*, envelope
        sender and client."""
        if from_address is not None:
            from_status, reason = self.author_status(from_address, evidence)
        else:
            from_status = Status.NONE
            reason = from_problem
            if problems:
                reason += '; malformed header: %s' % problems[0]
        mf_status, mf_reason = self.mail_from_status(
            mail_from, from_address, from_status, reason, evidence)
        return Verdict(
            from_address=from_address, mail_from=mail_from, client=client,
            spf=evidence.spf, dkim=tuple(evidence.dkim), arc=evidence.arc,
            dmarc_policy=evidence.dmarc_policy, from_status=from_status,
            mail_from_status=mf_status, reason=reason,
            mail_from_reason=mf_reason, temperror=evidence.temperror,
            trusted_results=tuple(evidence.trusted))

    def author_status(self, address, evidence):
        """(Status, reason) for the From *address*."""
        domain = domain_of(address)
        record = evidence.dmarc
        strict_dkim = record is not None and record.strict_dkim
        strict_spf = record is not None and record.strict_spf

        def aligned(other, domain, method='dkim'):
            # adkim= and aspf= of the From domain's record
            return self.aligned(other, domain, strict=(
                strict_spf if method == 'spf' else strict_dkim))
        spf_r = evidence.spf
        arc = evidence.arc
        # PASS
        if (spf_r and spf_r.result == 'pass'
                and aligned(spf_r.domain, domain, 'spf')):
            return Status.PASS, 'spf=pass %s %s aligned with From %s' % (
                'smtp.helo' if spf_r.identity == 'helo' else 'smtp.mailfrom',
                spf_r.domain, domain)
        for sig in evidence.dkim:
            if sig.result == 'pass' and aligned(sig.domain, domain):
                return Status.PASS, (
                    'dkim=pass header.d=%s aligned with From %s'
                    % (sig.domain, domain))
        if arc and arc.trusted:
            hit = self._reported_pass(
                domain, aligned, [('dmarc', d) for d in arc.dmarc_domains]
                + [('dkim', d) for d in arc.dkim_domains]
                + ([('spf', arc.spf_domain)] if arc.spf_domain else []))
            if hit:
                return Status.PASS, (
                    'trusted ARC sealer %s reports %s=pass for %s (From %s)'
                    % (arc.sealer, hit[0], hit[1], domain))
        hit = self._reported_pass(domain, aligned, evidence.trusted)
        if hit:
            return Status.PASS, (
                'trusted local Authentication-Results report %s=pass'
                ' for %s (From %s)' % (hit[0], hit[1], domain))
        # TEMPERROR
        if (spf_r and spf_r.result == 'temperror'
                and aligned(spf_r.domain, domain, 'spf')):
            return Status.TEMPERROR, (
                'DNS temporary error during SPF check of %s' % spf_r.domain)
        for sig in evidence.dkim:
            if sig.result == 'temperror' and aligned(sig.domain, domain):
                return Status.TEMPERROR, (
                    'DNS temporary error fetching DKIM key'
                    ' %s._domainkey.%s' % (sig.selector, sig.domain))
        if arc and arc.temperror and arc.sealer in self.trusted_sealers:
            return Status.TEMPERROR, (
                'DNS temporary error verifying ARC chain sealed by %s'
                % arc.sealer)
        # FAIL: an aligned SPF fail is decisive whatever DMARC says
        if (spf_r and spf_r.result == 'fail'
                and aligned(spf_r.domain, domain, 'spf')):
            return Status.FAIL, 'spf=fail for %s aligned with From %s' % (
                spf_r.domain, domain)
        if evidence.dmarc_temperror:
            return Status.TEMPERROR, (
                'DNS temporary error looking up the DMARC policy of %s'
                % domain)
        if evidence.dmarc_policy in ('quarantine', 'reject'):
            return Status.FAIL, (
                'From domain %s publishes DMARC p=%s and nothing aligned'
                ' passes (%s)' % (domain, evidence.dmarc_policy,
                                  evidence.summary()))
        return Status.NONE, 'no aligned authentication for From %s (%s)' % (
            domain, evidence.summary())

    @staticmethod
    def _reported_pass(domain, aligned, passes):
        for method, reported in passes:
            if method == 'dmarc':
                if normalize_domain(reported) == domain:
                    return method, reported
            elif aligned(reported, domain, method):
                return method, reported
        return None

    def mail_from_status(self, mail_from, from_address, from_status,
                         from_reason, evidence):
        """(Status, reason) for the envelope sender; the From address's
        when they are the same."""
        if mail_from is None:
            return Status.NONE, 'envelope sender unknown'
        if mail_from == '':
            return Status.NONE, 'null envelope sender'
        if mail_from == from_address:
            return from_status, from_reason
        domain = domain_of(mail_from)
        spf_r = evidence.spf
        spf_result = (spf_r.result if spf_r and spf_r.identity == 'mailfrom'
                      else None)
        if spf_result == 'pass':
            return Status.PASS, 'spf=pass smtp.mailfrom=%s' % domain
        for sig in evidence.dkim:
            if sig.result == 'pass' and self.aligned(sig.domain, domain):
                return Status.PASS, (
                    'dkim=pass header.d=%s aligned with envelope sender %s'
                    % (sig.domain, domain))
        if spf_result == 'temperror':
            return Status.TEMPERROR, (
                'DNS temporary error during SPF check of %s' % domain)
        for sig in evidence.dkim:
            if sig.result == 'temperror' and self.aligned(sig.domain,
                                                          domain):
                return Status.TEMPERROR, (
                    'DNS temporary error fetching DKIM key of %s'
                    % sig.domain)
        if spf_result == 'fail':
            return Status.FAIL, 'spf=fail smtp.mailfrom=%s' % domain
        return Status.NONE, 'no authentication for envelope sender %s' % domain
