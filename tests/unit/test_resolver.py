# SPDX-License-Identifier: GPL-3.0-or-later
import time

import pytest

from mailman_antibackscatter.auth import CachingResolver, DNSTempError


@pytest.fixture
def resolver(dns_server):
    return CachingResolver(nameservers=(dns_server.address,), cache_size=100,
                           timeout=2.0)


def test_positive_cache(dns_server, resolver):
    dns_server.add('a.example.com', 'A', '192.0.2.1')
    assert resolver.lookup('a.example.com', 'A')[0].address == '192.0.2.1'
    sent, served = resolver.queries_sent, dns_server.query_count
    assert resolver.lookup('A.Example.Com.', 'A')[0].address == '192.0.2.1'
    assert resolver.queries_sent == sent and dns_server.query_count == served
    resolver.clear()
    resolver.lookup('a.example.com', 'A')
    assert resolver.queries_sent == sent + 1


def test_ttl_zero_is_not_cached(dns_server, resolver):
    dns_server.add('z.example.com', 'A', '192.0.2.1', ttl=0)
    resolver.lookup('z.example.com', 'A')
    resolver.lookup('z.example.com', 'A')
    assert resolver.queries_sent == 2


def test_negative_caching(dns_server, resolver):
    dns_server.add('a.example.com', 'A', '192.0.2.1')
    assert resolver.lookup('nx.example.com', 'TXT') == ()
    assert resolver.lookup('a.example.com', 'TXT') == ()   # NODATA
    sent = resolver.queries_sent
    assert resolver.lookup('nx.example.com', 'TXT') == ()
    assert resolver.lookup('a.example.com', 'TXT') == ()
    assert resolver.queries_sent == sent


def test_servfail_is_temp_error_and_not_cached(dns_server, resolver):
    dns_server.add('a.broken.example', 'A', '192.0.2.1')
    dns_server.servfail('broken.example')
    with pytest.raises(DNSTempError):
        resolver.lookup('a.broken.example', 'A')
    dns_server.clear_faults()
    assert resolver.lookup('a.broken.example', 'A')


def test_timeout_and_budget(dns_server, resolver):
    dns_server.blackhole('hole.example')
    start = time.monotonic()
    with resolver.budget(0.5):
        with pytest.raises(DNSTempError):
            resolver.lookup('x.hole.example', 'TXT')
        assert resolver.budget_exhausted
        sent = resolver.queries_sent
        # the budget is spent: further misses fail at once without a query
        with pytest.raises(DNSTempError):
            resolver.lookup('other.example', 'TXT')
        assert resolver.queries_sent == sent
    assert time.monotonic() - start < 30   # generous sanity bound only


def test_a_share_of_the_budget_leaves_the_rest(dns_server, resolver):
    dns_server.blackhole('hole.example')
    dns_server.add('a.example.com', 'A', '192.0.2.1')
    with resolver.budget(1.0):
        with resolver.share(0.3):
            with pytest.raises(DNSTempError):
                resolver.lookup('x.hole.example', 'TXT')
        # the share ran out, the message's budget did not
        assert not resolver.budget_exhausted
        assert resolver.lookup('a.example.com', 'A')


def test_lru_bound(dns_server):
    r = CachingResolver(nameservers=(dns_server.address,), cache_size=3)
    for i in range(6):
        r.lookup('n%d.example' % i, 'A')
    assert len(r) == 3


def test_adapters(dns_server, resolver):
    dns_server.add('example.com', 'MX', '10 mx.example.com.')
    dns_server.add('mx.example.com', 'A', '192.0.2.1')
    dns_server.add('1.2.0.192.in-addr.arpa', 'PTR', 'mx.example.com.')
    dns_server.add('example.com', 'TXT', 'v=spf1 ' + 'a' * 600)
    assert resolver.spf_lookup('example.com', 'MX') == [
        (('example.com', 'MX'), (10, 'mx.example.com'))]
    assert resolver.spf_lookup('mx.example.com', 'A') == [
        (('mx.example.com', 'A'), '192.0.2.1')]
    assert resolver.spf_lookup('1.2.0.192.in-addr.arpa', 'PTR') == [
        (('1.2.0.192.in-addr.arpa', 'PTR'), 'mx.example.com')]
    (key, strings), = resolver.spf_lookup('example.com', 'TXT')
    assert b''.join(strings) == b'v=spf1 ' + b'a' * 600   # via TCP fallback
    assert resolver.get_txt(b'example.com.') == b'v=spf1 ' + b'a' * 600
    assert resolver.get_txt('nothing.example.com') is None


def test_concurrent_misses_send_one_query(dns_server, resolver):
    import concurrent.futures
    dns_server.add('same.example', 'TXT', 'v=spf1 -all')
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: resolver.lookup('same.example', 'TXT'), range(16)))
    assert all(r[0].strings == (b'v=spf1 -all',) for r in results)
    assert resolver.queries_sent == 1


def test_waiters_respect_their_budget(dns_server, resolver):
    import threading
    dns_server.blackhole('hole.example')
    errors = []

    def ask():
        with resolver.budget(0.4):
            try:
                resolver.lookup('x.hole.example', 'A')
            except DNSTempError as exc:
                errors.append(exc)
    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 3


def test_oversized_txt_records_are_not_kept(dns_server, resolver):
    # A TXT record far longer than any DKIM key, SPF or DMARC record needs
    # (it arrives over TCP) is dropped from the answer; the others stay.
    from mailman_antibackscatter.auth.resolver import MAX_TXT_BYTES
    dns_server.add('big.example.com', 'TXT', 'v=DKIM1; p=' + 'Q' * 60000)
    dns_server.add('big.example.com', 'TXT', 'v=spf1 -all')
    records = resolver.lookup('big.example.com', 'TXT')
    assert [b''.join(r.strings) for r in records] == [b'v=spf1 -all']
    dns_server.add('key.example.com', 'TXT', 'p=' + 'Q' * (MAX_TXT_BYTES - 2))
    assert len(resolver.get_txt('key.example.com')) == MAX_TXT_BYTES
    assert resolver.cached_bytes < 3 * MAX_TXT_BYTES


def test_cache_bounded_by_bytes(dns_server):
    resolver = CachingResolver(nameservers=(dns_server.address,),
                               cache_size=10000, cache_bytes=60000,
                               timeout=2.0)
    for i in range(100):
        dns_server.add('t%d.example.com' % i, 'TXT', 'x' * 3000)
        assert len(resolver.get_txt('t%d.example.com' % i)) == 3000
        assert resolver.cached_bytes <= 60000
    assert 10 <= len(resolver) < 20
    # the newest entries are the ones kept
    sent = resolver.queries_sent
    resolver.get_txt('t99.example.com')
    assert resolver.queries_sent == sent


def test_key_caches_are_keyed_by_digest_not_record():
    from mailman_antibackscatter.auth.dkimverify import KeyCache
    cache = KeyCache(size=10)
    txt = b'v=DKIM1; p=' + b'Q' * 3000
    first = cache.load(b's._domainkey.example.com.', txt)
    assert cache.load(b's._domainkey.example.com.', txt) is first
    assert all(len(repr(key)) < 200 for key in cache._data)
