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
