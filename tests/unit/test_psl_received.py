# SPDX-License-Identifier: GPL-3.0-or-later
import os

import pytest

from mailman_antibackscatter.auth.headers import (
    parse_address, parse_headers, parse_received, parse_received_spf)
from mailman_antibackscatter.auth.psl import (
    PublicSuffixList, default_psl_path, normalize_domain)


@pytest.fixture(scope='module')
def psl():
    return PublicSuffixList.default()


def test_default_psl_is_mailmans_copy():
    path = default_psl_path()
    assert path.endswith(os.path.join('mailman', 'rules', 'data', 'public_suffix_list.dat'))


@pytest.mark.parametrize('domain, org', [
    ('example.com', 'example.com'),
    ('a.b.example.com', 'example.com'),
    ('EXAMPLE.CO.UK.', 'example.co.uk'),
    ('a.b.example.co.uk', 'example.co.uk'),
    ('co.uk', 'co.uk'),
    ('foo.bar.ck', 'foo.bar.ck'),          # *.ck wildcard: bar.ck is a suffix
    ('a.www.ck', 'www.ck'),                # !www.ck exception
    ('münchen.de', 'xn--mnchen-3ya.de'),
    ('sub.xn--mnchen-3ya.de', 'xn--mnchen-3ya.de'),
    ('unknowntld-x.zzzz', 'unknowntld-x.zzzz'),
])
def test_org_domain(psl, domain, org):
    assert psl.org_domain(domain) == org


def test_builtin_and_explicit_file(tmp_path):
    f = tmp_path / 'psl.dat'
    f.write_text('// comment\ncom\n*.kawasaki.jp\n!city.kawasaki.jp\n')
    psl = PublicSuffixList.default(str(f))
    assert psl.org_domain('x.y.kawasaki.jp') == 'x.y.kawasaki.jp'
    assert psl.org_domain('a.city.kawasaki.jp') == 'city.kawasaki.jp'
    assert psl.org_domain('a.b.com') == 'b.com'
    assert normalize_domain(' Example.COM. ') == 'example.com'


@pytest.mark.parametrize('value, expected', [
    # Postfix
    ('from mail.example.com (mail.example.com [192.0.2.1])\r\n\tby mx.example.net (Postfix) with ESMTPS id 4AB; Mon, 1 Jan 2024',
     ('192.0.2.1', 'mail.example.com')),
    ('from helo.example (unknown [192.0.2.2]) by mx (Postfix) with SMTP id 1',
     ('192.0.2.2', 'helo.example')),
    # Exim
    ('from [192.0.2.3] (helo=foo.example) by mx.example.net with esmtp (Exim 4.96)',
     ('192.0.2.3', 'foo.example')),
    ('from rdns.example ([192.0.2.4] helo=bar.example) by mx with esmtps (Exim 4.96)',
     ('192.0.2.4', 'bar.example')),
    ('from rdns.example ([192.0.2.5]:40123 helo=baz.example) by mx with esmtp',
     ('192.0.2.5', 'baz.example')),
    # Sendmail
    ('from helo.ex (rdns.ex [192.0.2.6] (may be forged)) by mx (8.15.2/8.15.2) with ESMTP id x',
     ('192.0.2.6', 'helo.ex')),
    ('from helo2.ex (rdns2.ex [192.0.2.7]) by mx (8.15.2/8.15.2) with ESMTP id x',
     ('192.0.2.7', 'helo2.ex')),
    # Exchange
    ('from EXCH01.corp.example (10.1.2.3) by EXCH02.corp.example (10.1.2.4) with Microsoft SMTP Server',
     ('10.1.2.3', 'EXCH01.corp.example')),
    # IPv6
    ('from v6.example (v6.example [IPv6:2001:db8::1]) by mx (Postfix) with ESMTP',
     ('2001:db8::1', 'v6.example')),
    ('by mx.example.net (Postfix, from userid 1000) id 1; Mon', (None, None)),
    ('garbage \xff\x00 here', (None, None)),
])
def test_received_formats(value, expected):
    assert parse_received(value) == expected


def test_parse_address():
    assert parse_address('"Doe, Jane" <Jane@EXAMPLE.com>') == 'jane@example.com'
    assert parse_address('a@x.example, b@y.example') is None
    assert parse_address('no address here') is None
    assert parse_address('') is None
    assert parse_address('root@localhost') == 'root@localhost'
    assert parse_address('<@example.com>') is None
    assert parse_address('=?utf-8?q?J=C3=B6rg?= <jorg@example.de>') == 'jorg@example.de'


def test_received_spf():
    result, pairs = parse_received_spf(
        'Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1; '
        'helo=mail.x.org; envelope-from="a@x.org"; receiver=mx.example.net')
    assert result == 'pass'
    assert pairs['client-ip'] == '192.0.2.1' and pairs['envelope-from'] == 'a@x.org'


def test_parse_headers_offsets_and_problems():
    raw = (b'From: a@example.com\r\nSubject: one\r\n two\r\nbad line\r\n'
           b'X-8bit: caf\xe9\r\n\r\nbody\r\n')
    headers, body, linesep, problems = parse_headers(raw)
    assert [h.name for h in headers] == ['From', 'Subject', 'X-8bit']
    assert headers[1].value.startswith('one two')
    assert raw[body:] == b'body\r\n' and linesep == b'\r\n'
    assert problems
    assert b''.join(raw[h.start:h.end] for h in headers) == raw[:body - 2]
    headers, body, linesep, _ = parse_headers(b'From: a@b.example\nTo: c@d.example\n')
    assert linesep == b'\n' and len(headers) == 2 and body == len(b'From: a@b.example\nTo: c@d.example\n')
