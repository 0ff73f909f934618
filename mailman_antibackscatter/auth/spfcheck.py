# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""SPF (RFC 7208): pyspf's check of the envelope sender, or of the HELO
name for a null sender, with its DNS lookups made by our resolver.

pyspf has no per-query DNS hook: ``spf.query.dns`` calls the module-level
``spf.DNSLookup`` from inside its own cache, CNAME and void-lookup logic.
So patches.route_pyspf_dns replaces ``spf.DNSLookup``, once per process,
with a function that uses the resolver of the check running in this
thread, and pyspf's own lookup everywhere else.
"""

import ipaddress
import threading

import spf

from mailman_antibackscatter.patches import route_pyspf_dns

from .headers import domain_of
from .psl import normalize_domain
from .resolver import DNSTempError
from .verdict import SPFResult

__all__ = ['SPFChecker']

_RESULTS = ('pass', 'fail', 'softfail', 'neutral', 'none', 'temperror',
            'permerror')

_active = threading.local()


def _routed_lookup(original):
    """pyspf's DNSLookup, through the resolver of this thread's check."""
    def DNSLookup(name, qtype, tcpfallback=True, timeout=30):
        resolver = getattr(_active, 'resolver', None)
        if resolver is None:
            return original(name, qtype, tcpfallback, timeout)
        try:
            return resolver.spf_lookup(name, qtype)
        except DNSTempError as exc:
            raise spf.TempError('DNS %s' % exc)
    return DNSLookup


def _is_ip(text):
    try:
        ipaddress.ip_address(text.strip('[]'))
        return True
    except ValueError:
        return False


class SPFChecker:
    """Checks SPF for one message at a time, as *receiver*."""

    def __init__(self, resolver, receiver, timeout):
        self.resolver = resolver
        self.receiver = receiver
        self.timeout = timeout
        route_pyspf_dns(_routed_lookup)

    def check(self, mail_from, client):
        """The SPFResult for *mail_from* sent by *client*; None when the
        envelope sender is unknown."""
        if mail_from is None:
            return None
        helo = (client.helo or '').strip() if client else ''
        if mail_from == '':
            identity, domain = 'helo', normalize_domain(helo)
            if not domain or domain.startswith('[') or _is_ip(domain):
                return SPFResult('none', domain, identity,
                                 'null sender without a usable HELO name')
        else:
            identity, domain = 'mailfrom', domain_of(mail_from)
        if not domain:
            return SPFResult('none', domain, identity, 'no domain to check')
        ip = client.ip if client else None
        if not ip or not _is_ip(ip):
            return SPFResult('none', domain, identity, 'client IP unknown')
        _active.resolver = self.resolver
        try:
            result, _code, explanation = spf.query(
                i=ip, s=mail_from, h=helo or domain,
                receiver=self.receiver,
                timeout=self.timeout, querytime=0).check()
        except Exception as exc:
            return SPFResult('permerror', domain, identity,
                             'SPF evaluation error: %s' % exc)
        finally:
            _active.resolver = None
        result = (result or 'none').lower()
        if result not in _RESULTS:
            result = 'permerror'
        return SPFResult(result, domain, identity,
                         str(explanation or '')[:200])
