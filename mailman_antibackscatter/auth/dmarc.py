# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""DMARC (RFC 7489, and np= from DMARCbis): the author's domain's record.

The policy says whether a From address that nothing aligned authenticates
is a forgery (p=quarantine or reject) or only unproven; adkim= and aspf=
say how closely a DKIM or SPF domain must match the From domain.
"""

import dataclasses

from .resolver import DNSTempError

__all__ = ['DMARCLookup', 'DMARCRecord']

_POLICIES = ('none', 'quarantine', 'reject')
# RFC 7489 6.6.4: a message not selected by pct= gets the next lower policy.
_LOWER = {'reject': 'quarantine', 'quarantine': 'none', 'none': 'none'}
_NO_RECORD = object()


@dataclasses.dataclass(frozen=True)
class DMARCRecord:
    """What the From domain's record asks of one message.

    policy is the one that applies to this From domain (p=, sp= for a
    subdomain, np= for a subdomain that does not exist), lowered one step
    when pct= is below 100; None for a record without a valid policy."""
    policy: 'str | None'
    strict_dkim: bool = False        # adkim=s
    strict_spf: bool = False         # aspf=s


class DMARCLookup:
    """Looks up DMARC records; *alignment* finds organizational domains."""

    def __init__(self, resolver, alignment):
        self.resolver = resolver
        self.alignment = alignment

    def policy(self, domain):
        """Return (DMARCRecord or None, temperror) for the From domain
        *domain*: its own record, else its organizational domain's; None
        without a usable record or when a lookup failed temporarily."""
        if not domain:
            return None, False
        org = self.alignment.org_domain(domain)
        try:
            tags = self._tags(domain)
            subdomain = tags is _NO_RECORD and bool(org) and org != domain
            if subdomain:
                tags = self._tags(org)
            if tags is _NO_RECORD:
                return None, False
            policy = tags.get('p')
            if subdomain:
                if tags.get('np') in _POLICIES and not self._exists(domain):
                    policy = tags['np']
                elif tags.get('sp') in _POLICIES:
                    policy = tags['sp']
        except DNSTempError:
            return None, True
        if policy not in _POLICIES:
            policy = None
        elif _pct(tags.get('pct')) < 100:
            policy = _LOWER[policy]
        return DMARCRecord(policy, tags.get('adkim') == 's',
                           tags.get('aspf') == 's'), False

    def _tags(self, domain):
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
                tags.setdefault(key.strip().lower(), val.strip().lower())
        return tags

    def _exists(self, domain):
        """DMARCbis: a domain with no A, AAAA or MX record does not exist."""
        return any(self.resolver.lookup(domain, rdtype)
                   for rdtype in ('A', 'AAAA', 'MX'))


def _pct(value):
    """pct= as an integer; 100 (the default) when absent or invalid."""
    if value is None or not value.isdigit() or len(value) > 3:
        return 100
    return min(int(value), 100)
