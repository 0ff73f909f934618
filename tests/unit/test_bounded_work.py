# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounded work per message: every attacker-controlled field is validated
in linear time, and the engine's output is bounded whatever the input.

The hostile inputs below are sized so that a quadratic algorithm needs
hours; each runs in a child process that is given a minute, far above
what a linear one needs, so the tests do not depend on the machine's speed.
"""

import dataclasses
import os
import subprocess
import sys
import textwrap

from engine_helpers import make_message

from mailman_antibackscatter.auth import ClientInfo, Status
from mailman_antibackscatter.auth import authresults
from mailman_antibackscatter.auth import dkimcheck
from mailman_antibackscatter.auth.authresults import render_verdict
from mailman_antibackscatter.auth import headers as headers_module
from mailman_antibackscatter.auth.headers import (parse_from, parse_headers,
                                                  parse_received_spf)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CLIENT = ClientInfo('192.0.2.1', 'mx.example.com', 'xforward')

# Far above a linear run (milliseconds), far below a quadratic one (hours).
HANG_GUARD = 60


def run_isolated(code):
    """Run *code* in a fresh interpreter; fail if it has not ended within
    HANG_GUARD seconds (a quadratic loop holds the GIL, so a thread could
    not be interrupted).  Returns what it printed."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    try:
        done = subprocess.run(
            [sys.executable, '-c', textwrap.dedent(code)], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        raise AssertionError('did not finish: super-linear work') from None
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# -- DKIM b= / bh= -----------------------------------------------------------

def test_folded_whitespace_in_b_is_validated_in_linear_time():
    out = run_isolated('''
        import time
        from mailman_antibackscatter.auth import dkimverify
        from mailman_antibackscatter.auth.headers import parse_headers
        pad = b''.join(b'\\r\\n' + b' ' * 998 for _ in range(1024))
        raw = (b'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s;'
               b' h=from; bh=AAAA; b=A' + pad + b'!\\r\\n'
               b'From: a@example.com\\r\\n\\r\\nbody\\r\\n')
        headers, offset, _sep, _problems = parse_headers(raw)
        msg = dkimverify.Message(raw, headers, offset)
        looked_up = []
        result = dkimverify.verify_signature(
            msg, headers[0], looked_up.append, dkimverify.KeyCache())
        print(result.result, result.reason, len(looked_up))
    ''')
    assert out == 'permerror b= value is not valid base64 0'


def test_base64_validation_accepts_folding_and_rejects_junk():
    from mailman_antibackscatter.auth.dkimverify import decode_base64
    assert decode_base64(b'QUJD\r\n RA==') == b'ABCD'
    assert decode_base64(b' Q U J D ') == b'ABC'
    for bad in (b'', b'   ', b'QUJ', b'QU!D', b'QQ==QQ==', b'A' + b' ' * 50
                + b'!', b'QUJD=', b'\xff\xfe'):
        assert decode_base64(bad) is None, bad


def test_hostile_arc_signature_never_reaches_dkimpy(auth):
    pad = b''.join(b'\r\n' + b' ' * 998 for _ in range(64))
    raw = (b'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=attacker.example; s=s;'
           b' b=AAAA\r\n'
           b'ARC-Message-Signature: i=1; a=rsa-sha256; d=attacker.example;'
           b' s=s; h=from; bh=AAAA; b=A' + pad + b'!\r\n'
           b'ARC-Authentication-Results: i=1; mx.attacker.example; none\r\n'
           + make_message(from_='x@attacker.example'))
    verdict = auth.authenticate(raw, 'x@attacker.example', CLIENT)
    assert verdict.arc.result == 'fail'
    assert 'ARC-Message-Signature b= value is not valid base64' \
        in verdict.arc.reason


def test_arc_sets_are_capped_at_fifty(auth):
    sets = b''.join(
        b'ARC-Seal: i=%d; a=rsa-sha256; cv=none; d=a.example; s=s; b=AAAA\r\n'
        b'ARC-Message-Signature: i=%d; a=rsa-sha256; d=a.example; s=s;'
        b' h=from; bh=AAAA; b=AAAA\r\n'
        b'ARC-Authentication-Results: i=%d; a.example; none\r\n'
        % (i, i, i) for i in range(51, 0, -1))
    raw = sets + make_message(from_='x@attacker.example')
    verdict = auth.authenticate(raw, 'x@attacker.example', CLIENT)
    assert verdict.arc.result == 'fail'
    assert verdict.arc.reason == 'more than 50 ARC sets (RFC 8617)'
    assert auth.resolver.queries_sent <= 3      # SPF and DMARC, no ARC keys


# -- Received-SPF ------------------------------------------------------------

def test_received_spf_parsing_is_linear():
    out = run_isolated('''
        from mailman_antibackscatter.auth.headers import parse_received_spf
        for value in ('pass ' + 'a' * 200000, 'pass ' + ' ' * 200000 + 'x',
                      'pass ' + 'a=' * 100000, 'pass ' + '(' * 200000,
                      'pass ' + '"' * 200000):
            print(parse_received_spf(value)[0])
    ''')
    assert out.split() == ['pass'] * 5


def test_received_spf_pairs():
    result, pairs = parse_received_spf(
        'Pass (mx.example.net: domain of a@example.com designates 192.0.2.1'
        ' as permitted sender) client-ip=192.0.2.1; envelope-from='
        '"a@example.com"; helo = mail.example.com;\r\n\treceiver=mx;'
        ' identity=mailfrom')
    assert result == 'pass'
    assert pairs == {'client-ip': '192.0.2.1',
                     'envelope-from': 'a@example.com',
                     'helo': 'mail.example.com', 'receiver': 'mx',
                     'identity': 'mailfrom'}
    assert parse_received_spf('') == ('', {})
    assert parse_received_spf('softfail x=1 x=2') == ('softfail', {'x': '1'})


def test_received_spf_keeps_a_bounded_number_of_pairs():
    value = 'pass ' + ' '.join('k%d=v' % i for i in range(10000))
    _result, pairs = parse_received_spf(value)
    assert len(pairs) <= 32


# -- DKIM clauses and our header -----------------------------------------------

def _flood(n):
    return make_message(from_='a@attacker.example', extra=[
        'DKIM-Signature: v=1; a=rsa-sha256; d=attacker.example; s=s%d;'
        ' h=from; bh=AAAA; b=AAAA' % i for i in range(n)])


def test_signatures_beyond_the_limit_are_one_result(auth):
    verdict = auth.authenticate(_flood(1000), 'a@attacker.example', CLIENT)
    limit = dkimcheck.MAX_SIGNATURES
    assert len(verdict.dkim) == limit + 1
    assert verdict.dkim[-1].result == 'policy'
    assert verdict.dkim[-1].reason == (
        'not verified: 980 more signatures (at most %d)' % limit)


def test_our_header_has_a_bounded_number_of_dkim_clauses(auth):
    verdict = auth.authenticate(_flood(30), 'a@attacker.example', CLIENT)
    # even a verdict built elsewhere with many results renders bounded
    verdict = dataclasses.replace(verdict, dkim=verdict.dkim[:-1] * 40)
    value = render_verdict(verdict, 'lists.example.net')
    assert value.count('; dkim=') <= dkimcheck.MAX_SIGNATURES + 1
    assert 'more signatures' in value
    claimed, results = authresults.parse(' '.join(value.split()))
    assert claimed == 'lists.example.net'
    assert [r.result for r in results
            if r.method == authresults.VERDICT_METHOD] == [
                verdict.status.value]


# -- From ------------------------------------------------------------------

def test_huge_from_is_refused_without_parsing():
    value = ' '.join([';' * 76] * (1024 * 1024 // 77))
    raw = ('From: %s\r\n\r\nbody\r\n' % value).encode()
    headers = parse_headers(raw)[0]
    address, problem = parse_from(raw, headers)
    assert address is None
    assert problem == 'From header longer than %d bytes' % getattr(
        headers_module, 'MAX_FROM_BYTES', None)


def test_long_but_legal_from_is_parsed():
    name = '=?utf-8?q?' + 'x' * 900 + '?='
    raw = ('From: %s\r\n <alice@example.com>\r\n\r\nb\r\n' % name).encode()
    assert parse_from(raw, parse_headers(raw)[0]) == (
        'alice@example.com', None)


# -- the header block ----------------------------------------------------------

def test_engine_looks_at_a_bounded_header_block(auth, dns_server):
    dns_server.add('example.com', 'TXT', 'v=spf1 ip4:192.0.2.1 -all')
    filler = ['X-Filler-%d: %s' % (i, 'y' * 900) for i in range(400)]
    raw = make_message(extra=filler + [
        'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s;'
        ' h=from; bh=AAAA; b=AAAA'])
    verdict = auth.authenticate(raw, 'a@example.com', CLIENT)
    assert verdict.spf.result == 'pass'
    assert [d.result for d in verdict.dkim] == ['permerror']
    assert 'header block larger than' in verdict.dkim[0].reason
    assert verdict.from_status == Status.PASS


# -- the CPU budget ----------------------------------------------------------

def test_cpu_budget_cuts_off_signatures_and_arc(make_auth, signed):
    # A budget already spent: nothing more is verified, and what was not
    # verified is a temporary error (held quietly), never a pass or fail.
    raw = signed(signed(make_message(), selector='s1'), selector='s2')
    raw = (b'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=a.example; s=s;'
           b' b=AAAA\r\n' + raw)
    verdict = make_auth(cpu_budget=0.0).authenticate(
        raw, 'bounce@example.com', CLIENT)
    assert [(d.result, d.domain) for d in verdict.dkim] == [
        ('temperror', 'example.com')] * 2
    assert verdict.dkim[0].reason == 'not verified: CPU budget spent'
    assert verdict.arc.temperror and verdict.arc.result == 'fail'
    assert verdict.from_status == Status.TEMPERROR
    assert make_auth().authenticate(
        raw, 'bounce@example.com', CLIENT).from_status == Status.PASS


def test_parse_address_itself_refuses_an_oversized_value():
    """The From cap sits in the address parser, so no caller can hand the
    stdlib's super-linear getaddresses() a megabyte (F8 calls it directly)."""
    assert headers_module.parse_address('a@b.example') == 'a@b.example'
    padded = 'a@b.example' + ' ' * headers_module.MAX_FROM_BYTES
    assert headers_module.parse_address(padded) is None
