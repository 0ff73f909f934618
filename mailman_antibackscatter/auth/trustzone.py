# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The trust zone: which headers the site's own hosts wrote, and who
connected to them.

Headers above (and including) the first Received header whose client IP is
outside the internal networks were added by our own hosts.  Only the
Authentication-Results and Received-SPF headers in that zone whose
authserv-id is trusted are believed; our own authserv-id never is.
"""

import ipaddress

from . import authresults
from .headers import domain_of, parse_received, parse_received_spf
from .psl import normalize_domain
from .verdict import ClientInfo

__all__ = ['TrustZone']

_RESULT_HEADERS = ('authentication-results', 'received-spf')


class TrustZone:
    """Reads the headers our hosts wrote, given our authserv-id, the ids
    we trust and the networks of our own hosts."""

    def __init__(self, authserv_id, trusted_authserv_ids, internal_networks):
        self.authserv_id = authserv_id.lower()
        self.trusted_ids = frozenset(
            x.lower() for x in trusted_authserv_ids) - {self.authserv_id}
        self.networks = tuple(ipaddress.ip_network(n, strict=False)
                              for n in internal_networks)

    def internal(self, ip):
        """Is *ip* one of our own hosts?"""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.networks
                   if net.version == addr.version)

    def end(self, headers):
        """Return (zone_end, ip, helo).

        Headers with index < zone_end were added by our own (local) hosts:
        everything above and including the first Received header whose
        client is external, which recorded *ip* and *helo*.  With only
        internal Received headers the whole header is local; without any
        Received header nothing is.
        """
        seen_received = False
        for index, header in enumerate(headers):
            if header.lname != 'received':
                continue
            seen_received = True
            ip, helo = parse_received(header.value)
            if ip is None or self.internal(ip):
                continue
            return index + 1, ip, helo
        return (len(headers) if seen_received else 0), None, None

    @staticmethod
    def claimed_id(header):
        """The lowercased authserv-id an A-R or Received-SPF header claims
        (for Received-SPF: ``receiver=``), or None."""
        if header.lname == 'authentication-results':
            claimed = authresults.authserv_id_of(header.value)
            return claimed.lower() if claimed else None
        if header.lname == 'received-spf':
            _result, pairs = parse_received_spf(header.value)
            receiver = pairs.get('receiver')
            return receiver.lower() if receiver else None
        return None

    def stale_results(self, headers):
        """(start, end) byte spans of the result headers to drop before we
        add ours: all claiming our id, and those claiming a trusted id
        outside the zone (somebody else wrote them)."""
        zone_end, _ip, _helo = self.end(headers)
        spans = []
        for index, header in enumerate(headers):
            if header.lname not in _RESULT_HEADERS:
                continue
            claimed = self.claimed_id(header)
            if claimed is None:
                continue
            if claimed == self.authserv_id or (
                    claimed in self.trusted_ids and index >= zone_end):
                spans.append((header.start, header.end))
        return spans

    def survey(self, headers, client=None):
        """Return (client, passes) for one message.

        passes are the (method, domain) passes that trusted headers in the
        zone report; client is the given one, else the one they name, else
        the one the zone's last Received header names.
        """
        zone_end, ip, helo = self.end(headers)
        reported, passes = self._trusted_reports(headers[:zone_end])
        if client is None:
            if reported is not None:
                client = reported
            elif ip is not None:
                client = ClientInfo(ip, helo, 'received')
            else:
                client = ClientInfo(None, None, 'unknown')
        return client, passes

    def _trusted_reports(self, zone):
        """(client they name or None, their passes) from the A-R and
        Received-SPF headers in *zone* with a trusted authserv-id."""
        client = None
        passes = []
        if not self.trusted_ids:
            return None, passes
        for header in zone:
            if header.lname == 'received-spf':
                result, pairs = parse_received_spf(header.value)
                receiver = (pairs.get('receiver') or '').lower()
                if receiver not in self.trusted_ids:
                    continue
                ip = pairs.get('client-ip')
                if client is None and ip:
                    client = ClientInfo(ip, pairs.get('helo'), 'header')
                if result == 'pass':
                    if pairs.get('identity', 'mailfrom').lower() == 'helo':
                        domain = normalize_domain(pairs.get('helo'))
                    else:
                        domain = domain_of(pairs.get('envelope-from'))
                    if domain:
                        passes.append(('spf', domain))
            elif header.lname == 'authentication-results':
                if self.claimed_id(header) not in self.trusted_ids:
                    continue
                try:
                    _claimed, results = authresults.parse(header.value)
                except Exception:
                    continue
                passes.extend(authresults.passes(results))
                if client is None:
                    ip, helo = authresults.reported_client(results)
                    if ip:
                        client = ClientInfo(ip, helo, 'header')
        return client, passes
