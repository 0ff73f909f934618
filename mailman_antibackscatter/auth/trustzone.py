# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The trust boundary: which headers the site's own hosts wrote, and the
client that connected to them.

The walk starts at the topmost Received header (the one the site's MTA
wrote when the client connected) and reads only its TCP info, never the
HELO.  It goes down past Received headers of internal hosts (content
filters that re-inject, internal relays), at most ``local_hops`` of them,
and stops at the first external one: that hop's client is the client, and
the headers above it (and it) are the zone.  A Received it cannot read, or
one more internal hop than allowed, ends the walk there with no client:
nothing below it was written by us.  Only the Authentication-Results and
Received-SPF headers in the zone whose authserv-id is trusted are believed;
our own authserv-id never is.
"""

import ipaddress

from . import authresults
from .headers import domain_of, parse_received, parse_received_spf
from .psl import normalize_domain
from .verdict import ClientInfo

__all__ = ['TrustZone', 'xforward_client']

_RESULT_HEADERS = ('authentication-results', 'received-spf')
# Longest XFORWARD HELO kept (a DNS name is at most 253 characters).
_MAX_HELO = 255
_UNAVAILABLE = ('[UNAVAILABLE]', '[TEMPUNAVAIL]')


def _one_line(text, limit=80):
    return ''.join(c if ' ' <= c <= '~' else '?' for c in text[:limit])


def xforward_client(attributes):
    """(ClientInfo or None, problem or None) from XFORWARD attributes.

    ADDR must be an IP address; a HELO with control characters or over
    255 characters is dropped.  *problem* is one printable line saying
    what was ignored."""
    address = attributes.get('ADDR')
    if not address or address.upper() in _UNAVAILABLE:
        return None, None
    text = address[5:] if address.upper().startswith('IPV6:') else address
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None, 'XFORWARD ADDR is not an IP address: %r' % (
            _one_line(address),)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    helo = attributes.get('HELO')
    problem = None
    if helo and helo.upper() in _UNAVAILABLE:
        helo = None
    if helo and (len(helo) > _MAX_HELO
                 or any(c < ' ' or c == '\x7f' for c in helo)):
        problem = 'XFORWARD HELO ignored: %r' % (_one_line(helo),)
        helo = None
    return ClientInfo(ip=str(ip), helo=helo or None,
                      source='xforward'), problem


class TrustZone:
    """Reads the headers our hosts wrote, given our authserv-id, the ids
    we trust, the networks of our own hosts and how many of their
    Received headers may lie above the one naming the client."""

    def __init__(self, authserv_id, trusted_authserv_ids, internal_networks,
                 local_hops=0):
        self.authserv_id = authserv_id.lower()
        self.trusted_ids = frozenset(
            x.lower() for x in trusted_authserv_ids) - {self.authserv_id}
        self.networks = tuple(ipaddress.ip_network(n, strict=False)
                              for n in internal_networks)
        self.local_hops = max(0, local_hops)

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

        Headers with index < zone_end were added by our own hosts: those
        above and including the first external Received header, which
        recorded *ip* and *helo*, found within ``local_hops`` internal
        ones.  When the walk stops first (a Received it cannot read, too
        many internal hops, no more Received headers), ip and helo are
        None and the zone ends with the last Received it read.
        """
        zone_end, hops = 0, 0
        for index, header in enumerate(headers):
            if header.lname != 'received':
                continue
            ip, helo = parse_received(header.value)
            if ip is None:
                return zone_end, None, None
            zone_end = index + 1
            if not self.internal(ip):
                return zone_end, ip, helo
            hops += 1
            if hops > self.local_hops:
                break
        return zone_end, None, None

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
