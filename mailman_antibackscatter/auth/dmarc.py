# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""DMARC (RFC 7489): the policy the author's domain publishes.

Only the policy is used: with p=quarantine or p=reject, a From address
that nothing aligned authenticates is a forgery rather than unproven.
"""

from .resolver import DNSTempError

__all__ = ['DMARCLookup']

_POLICIES = ('none', 'quarantine', 'reject')
_NO_RECORD = object()


class DMARCLookup:
    """Looks up DMARC policies; *alignment* finds organizational domains."""

    def __init__(self, resolver, alignment):
        self.resolver = resolver
        self.alignment = alignment

    def policy(self, domain):
        """Return (policy, temperror) for the From domain *domain*.

        policy is 'none', 'quarantine' or 'reject' from the domain's own
        record, else the sp= (or p=) of its organizational domain's; None
        without a usable record or when a lookup failed temporarily."""
        if not domain:
            return None, False
        org = self.alignment.org_domain(domain)
        try:
            policy = self._record(domain, subdomain=False)
            if policy is _NO_RECORD and org and org != domain:
                policy = self._record(org, subdomain=True)
        except DNSTempError:
            return None, True
        return (None if policy is _NO_RECORD else policy), False

    def _record(self, domain, subdomain):
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
        if subdomain and tags.get('sp') in _POLICIES:
            policy = tags['sp']
        if policy not in _POLICIES:
            return None
        return policy
