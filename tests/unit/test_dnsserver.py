# SPDX-License-Identifier: GPL-3.0-or-later
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.harness.dnsserver import DNSServer


def ask(srv, name, rdtype, tcp=False, timeout=2.0):
    q = dns.message.make_query(name, rdtype)
    fn = dns.query.tcp if tcp else dns.query.udp
    return fn(q, srv.host, port=srv.port, timeout=timeout)


def test_answers_a_txt_mx_ptr(dns_server):
    dns_server.add('mail.example.com', 'A', '192.0.2.1')
    dns_server.add('mail.example.com', 'AAAA', '2001:db8::1')
    dns_server.add('example.com', 'MX', '10 mail.example.com.')
    dns_server.add('example.com', 'TXT', 'v=spf1 -all', ttl=123)
    dns_server.add('1.2.0.192.in-addr.arpa', 'PTR', 'mail.example.com.')
    r = ask(dns_server, 'mail.example.com', 'A')
    assert r.answer[0][0].address == '192.0.2.1'
    assert ask(dns_server, 'mail.example.com', 'AAAA').answer[0][0].address == '2001:db8::1'
    mx = ask(dns_server, 'example.com', 'MX').answer[0][0]
    assert (mx.preference, mx.exchange.to_text()) == (10, 'mail.example.com.')
    txt = ask(dns_server, 'EXAMPLE.com.', 'TXT').answer[0]
    assert txt.ttl == 123 and txt[0].strings == (b'v=spf1 -all',)
    assert ask(dns_server, '1.2.0.192.in-addr.arpa', 'PTR').answer[0][0].target.to_text() == 'mail.example.com.'


def test_nxdomain_and_nodata_carry_soa(dns_server):
    dns_server.add('a.example.com', 'A', '192.0.2.1')
    r = ask(dns_server, 'nope.example.com', 'A')
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    r = ask(dns_server, 'a.example.com', 'TXT')
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    # empty non-terminal is NODATA, not NXDOMAIN
    r = ask(dns_server, 'example.com', 'A')
    assert r.rcode() == dns.rcode.NOERROR


def test_long_txt_truncates_over_udp_and_works_over_tcp(dns_server):
    value = 'v=DKIM1; k=rsa; p=' + 'A' * 700
    dns_server.add('big.example.com', 'TXT', value)
    r = ask(dns_server, 'big.example.com', 'TXT')
    assert r.flags & dns.flags.TC and not r.answer
    r = ask(dns_server, 'big.example.com', 'TXT', tcp=True)
    strings = r.answer[0][0].strings
    assert len(strings) == 3 and all(len(s) <= 255 for s in strings)
    assert b''.join(strings).decode() == value


def test_faults(dns_server):
    dns_server.add('x.bad.example', 'A', '192.0.2.1')
    dns_server.servfail('bad.example')
    assert ask(dns_server, 'x.bad.example', 'A').rcode() == dns.rcode.SERVFAIL
    dns_server.blackhole('slow.example')
    with pytest.raises(dns.exception.Timeout):
        ask(dns_server, 'a.slow.example', 'A', timeout=0.3)
    dns_server.clear_faults()
    assert ask(dns_server, 'x.bad.example', 'A').answer


def test_remove_count_and_zone_text(dns_server):
    before = dns_server.query_count
    dns_server.load_zone_text('''
        # comment
        z.example 300 TXT "v=spf1 a -all"
        z.example 300 A 192.0.2.9
    ''')
    assert ask(dns_server, 'z.example', 'TXT').answer[0][0].strings == (b'v=spf1 a -all',)
    dns_server.remove('z.example', 'TXT')
    assert not ask(dns_server, 'z.example', 'TXT').answer
    assert ask(dns_server, 'z.example', 'A').answer
    dns_server.remove('z.example')
    assert ask(dns_server, 'z.example', 'A').rcode() == dns.rcode.NXDOMAIN
    assert dns_server.query_count == before + 4


def test_context_manager_and_same_port():
    with DNSServer() as srv:
        assert srv.port and srv.address == ('127.0.0.1', srv.port)
        srv.add('a.test', 'A', '192.0.2.3')
        assert ask(srv, 'a.test', 'A').answer
        assert ask(srv, 'a.test', 'A', tcp=True).answer
