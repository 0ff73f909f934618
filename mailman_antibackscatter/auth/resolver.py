# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""One caching, thread-safe DNS resolver with a per-message time budget."""

import collections
import contextlib
import threading
import time

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

__all__ = ['CachingResolver', 'DNSTempError']

# Bounds applied to the TTLs we honour.
MAX_TTL = 86400
DEFAULT_NEGATIVE_TTL = 300

# A TXT record longer than this is left out of the answer we keep: an
# RSA-8192 DKIM key needs about 1.5 KB, SPF and DMARC records far less,
# while a hostile one arriving over TCP may be 60 KB.
MAX_TXT_BYTES = 4096
# The cache holds at most this many bytes of answers (an estimate of the
# memory they take), whatever its entry count: 10 000 hostile 60 KB
# answers would otherwise be 800 MB in the LMTP runner.
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
# Overheads measured with tracemalloc (dnspython 2.9, Python 3.11).
_ENTRY_BYTES = 1600     # key, entry tuple and the answer's tuple
_RDATA_BYTES = 900      # one rdata object without its strings
_STRING_BYTES = 40      # each character-string's bytes object

_OK, _NXDOMAIN, _NODATA = 'ok', 'nxdomain', 'nodata'


class DNSTempError(Exception):
    """A temporary DNS failure (timeout, SERVFAIL, budget exhausted)."""


class _Budget(threading.local):
    deadline = None     # absolute time.monotonic() value, or None
    exhausted = False   # set when a lookup was refused for lack of time


class CachingResolver:
    """Caching DNS resolver.

    * honours TTLs, caches NXDOMAIN/NODATA using the SOA minimum (RFC 2308)
    * LRU-bounded to ``cache_size`` RRsets and ``cache_bytes`` bytes,
      thread-safe; TXT records over MAX_TXT_BYTES are not kept
    * temporary failures are never cached
    * concurrent misses for the same RRset send one query (the others wait)
    * ``with resolver.budget(seconds):`` gives the current thread a total
      time budget; lookups that miss the cache after it is spent raise
      DNSTempError immediately.
    """

    def __init__(self, nameservers=(), cache_size=10000, timeout=5.0,
                 cache_bytes=DEFAULT_CACHE_BYTES):
        self._resolver = dns.resolver.Resolver(configure=not nameservers)
        if nameservers:
            # Addresses and a port per address: what every dnspython from
            # 2.3 (Debian 12's, without dns.nameserver) on accepts.
            self._resolver.nameserver_ports = {
                host: int(port) for host, port in nameservers}
            self._resolver.nameservers = [host for host, _ in nameservers]
        self._resolver.cache = None
        self._resolver.retry_servfail = False
        self.timeout = timeout
        self.cache_size = cache_size
        self.cache_bytes = cache_bytes
        self.cached_bytes = 0
        self._cache = collections.OrderedDict()
        self._inflight = {}
        self._lock = threading.Lock()
        self._budget = _Budget()
        self.queries_sent = 0
        self.cache_hits = 0

    # -- budget ----------------------------------------------------------

    @contextlib.contextmanager
    def budget(self, seconds):
        """Give the calling thread ``seconds`` of network time in total."""
        state = self._budget
        old = state.deadline, state.exhausted
        state.deadline = time.monotonic() + seconds
        state.exhausted = False
        try:
            yield state
        finally:
            state.deadline, state.exhausted = old

    @contextlib.contextmanager
    def share(self, seconds):
        """Within the current budget, let the calling thread spend at most
        ``seconds`` of it; what is left after the block stays available,
        and running out inside it does not mark the whole budget spent."""
        state = self._budget
        old = state.deadline, state.exhausted
        end = time.monotonic() + seconds
        state.deadline = end if old[0] is None else min(old[0], end)
        try:
            yield state
        finally:
            state.deadline, state.exhausted = old

    @property
    def budget_exhausted(self):
        return self._budget.exhausted

    def clear(self):
        with self._lock:
            self._cache.clear()
            self.cached_bytes = 0

    def __len__(self):
        return len(self._cache)

    # -- lookups ---------------------------------------------------------

    def lookup(self, name, rdtype):
        """Return a tuple of rdata objects (empty for NXDOMAIN/NODATA).

        Raises DNSTempError for timeouts, SERVFAIL and an exhausted budget.
        """
        if isinstance(name, bytes):
            name = name.decode('ascii', 'replace')
        if isinstance(rdtype, str):
            rdtype = dns.rdatatype.from_text(rdtype)
        key = (name.rstrip('.').lower(), int(rdtype))
        while True:
            with self._lock:
                entry = self._cache.get(key)
                if entry is not None:
                    if entry[0] > time.monotonic():
                        self._cache.move_to_end(key)
                        self.cache_hits += 1
                        return entry[2]
                    self._evict(key)
                waiter = self._inflight.get(key)
                if waiter is None:
                    # We ask; concurrent askers of the same RRset wait for us.
                    event = self._inflight[key] = threading.Event()
                    break
            waiter.wait(self._remaining())
        try:
            kind, data, ttl = self._query(key[0], rdtype)
            size = _ENTRY_BYTES + len(key[0]) + sum(
                _RDATA_BYTES + sum(_STRING_BYTES + len(s)
                                   for s in getattr(r, 'strings', ()))
                for r in data)
            if ttl > 0 and size <= self.cache_bytes:
                with self._lock:
                    if key in self._cache:
                        self._evict(key)
                    self._cache[key] = (time.monotonic() + min(ttl, MAX_TTL),
                                        kind, data, size)
                    self.cached_bytes += size
                    while (len(self._cache) > self.cache_size
                           or self.cached_bytes > self.cache_bytes):
                        self._evict(next(iter(self._cache)))
            return data
        finally:
            with self._lock:
                self._inflight.pop(key, None)
            event.set()

    def _evict(self, key):
        # with self._lock held
        self.cached_bytes -= self._cache.pop(key)[3]

    def _remaining(self):
        deadline = self._budget.deadline
        if deadline is None:
            return self.timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._budget.exhausted = True
            raise DNSTempError('DNS time budget for this message exhausted')
        return min(remaining, self.timeout) if self.timeout else remaining

    def _query(self, name, rdtype):
        lifetime = self._remaining()
        with self._lock:
            self.queries_sent += 1
        try:
            answer = self._resolver.resolve(
                name + '.', rdtype, lifetime=lifetime,
                raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN as exc:
            return _NXDOMAIN, (), self._negative_ttl(exc.responses().values())
        except dns.resolver.LifetimeTimeout as exc:
            if self._budget.deadline is not None and \
                    time.monotonic() >= self._budget.deadline:
                self._budget.exhausted = True
            raise DNSTempError('DNS timeout for %s/%s' % (
                name, dns.rdatatype.to_text(rdtype))) from exc
        except dns.resolver.NoNameservers as exc:
            raise DNSTempError('DNS server failure for %s/%s' % (
                name, dns.rdatatype.to_text(rdtype))) from exc
        except (dns.resolver.YXDOMAIN, dns.name.NameTooLong,
                dns.name.LabelTooLong, dns.name.EmptyLabel, dns.name.BadEscape,
                dns.name.IDNAException, UnicodeError):
            # A name that cannot exist (e.g. from a malformed signature) is a
            # permanent non-answer, never a temporary error.
            return _NXDOMAIN, (), DEFAULT_NEGATIVE_TTL
        except dns.exception.DNSException as exc:
            raise DNSTempError('DNS error for %s/%s: %s' % (
                name, dns.rdatatype.to_text(rdtype), exc)) from exc
        if answer.rrset is None:
            return _NODATA, (), self._negative_ttl([answer.response])
        records = tuple(answer.rrset)
        if rdtype == dns.rdatatype.TXT:
            records = tuple(r for r in records
                            if sum(map(len, r.strings)) <= MAX_TXT_BYTES)
        return _OK, records, answer.rrset.ttl

    @staticmethod
    def _negative_ttl(responses):
        for response in responses:
            if response is None:
                continue
            for rrset in response.authority:
                if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
                    return min(rrset.ttl, rrset[0].minimum)
        return DEFAULT_NEGATIVE_TTL

    # -- adapters for pyspf and dkimpy ------------------------------------

    def get_txt(self, name, timeout=5):
        """dkimpy ``dnsfunc``: the TXT record as bytes, None when absent.

        Raises DNSTempError (not a DKIMException, so it propagates out of
        dkimpy's verify() and we can tell it from a missing key)."""
        records = self.lookup(name, dns.rdatatype.TXT)
        for rdata in records:
            return b''.join(rdata.strings)
        return None

    def spf_lookup(self, name, qtype):
        """pyspf ``DNSLookup`` contract: list of ((name, qtype), data)."""
        out = []
        for rdata in self.lookup(name, qtype):
            if qtype in ('A', 'AAAA'):
                out.append(((name, qtype), rdata.address))
            elif qtype == 'MX':
                out.append(((name, qtype),
                            (rdata.preference, rdata.exchange.to_text(True))))
            elif qtype == 'PTR':
                out.append(((name, qtype), rdata.target.to_text(True)))
            elif qtype in ('TXT', 'SPF'):
                out.append(((name, qtype), tuple(rdata.strings)))
        return out
