# SPDX-License-Identifier: GPL-3.0-or-later
import concurrent.futures
import dataclasses
import subprocess
import sys

import pytest
from engine_helpers import make_message

from mailman_antibackscatter.auth import (
    Authenticator, ClientInfo, DNSTempError, EngineSettings, Status, Verdict)
from tests.harness.signing import dkim_sign, generate_ed25519_key


def test_settings_defaults_and_frozen():
    s = EngineSettings()
    assert (s.authserv_id, s.trusted_authserv_ids, s.trusted_arc_sealers) == (
        'localhost', frozenset(), frozenset())
    assert s.internal_networks == ('127.0.0.0/8', '::1/128')
    assert (s.alignment, s.nameservers, s.dns_timeout, s.dns_cache_size,
            s.min_key_bits, s.public_suffix_list) == ('relaxed', (), 5.0, 10000, 1024, None)
    assert s.spf and s.dkim and s.arc
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.alignment = 'strict'
    with pytest.raises(dataclasses.FrozenInstanceError):
        ClientInfo('192.0.2.1', 'h', 'xforward').ip = 'x'
    assert issubclass(DNSTempError, Exception)
    assert Status.PASS == 'pass' and Status('temperror') is Status.TEMPERROR


def test_auth_package_does_not_import_mailman():
    code = ('import sys, mailman_antibackscatter.auth as a; '
            'a.Authenticator(a.EngineSettings()); '
            'print(any(m == "mailman" or m.startswith("mailman.") for m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True, cwd='.',
                         env={'PYTHONPATH': '.', 'PATH': '/usr/bin:/bin'})
    assert out.stdout.strip() == 'False'


def test_spf_ipv6_client(auth, dns_server):
    dns_server.add('example.com', 'TXT', 'v=spf1 ip6:2001:db8::/32 -all')
    v = auth.authenticate(make_message(), 'b@example.com',
                          ClientInfo('2001:db8::25', 'mx.example.com', 'xforward'))
    assert v.spf.result == 'pass' and v.status == Status.PASS


def test_thread_safety(auth, dns_server):
    dns_server.add('example.com', 'TXT', 'v=spf1 ip4:192.0.2.0/24 -all')
    msgs = []
    for i in range(8):
        pem, txt = generate_ed25519_key()
        dns_server.add('k%d._domainkey.d%d.example' % (i, i), 'TXT', txt)
        raw = dkim_sign(make_message(from_='a@d%d.example' % i), 'd%d.example' % i,
                        'k%d' % i, pem, algorithm=b'ed25519-sha256')
        msgs.append((i, raw))

    def work(item):
        i, raw = item
        client = ClientInfo('192.0.2.%d' % (i + 1), 'h', 'xforward')
        return i, auth.authenticate(raw, 'b@example.com', client)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, msgs * 5))
    for i, v in results:
        assert v.from_address == 'a@d%d.example' % i
        assert v.status == Status.PASS
        assert v.status_for('b@example.com') == Status.PASS


def test_per_message_budget_applies_to_all_lookups(make_auth, dns_server, signed):
    """With every lookup blackholed the whole message gives up within its
    one budget instead of waiting for each lookup in turn."""
    auth = make_auth(dns_timeout=0.5)
    raw = signed(make_message(), domain='slow.example')
    raw = dkim_sign(raw, 'slow2.example', 's1', generate_ed25519_key()[0],
                    algorithm=b'ed25519-sha256')
    dns_server.blackhole('slow.example')
    dns_server.blackhole('slow2.example')
    dns_server.blackhole('example.com')
    v = auth.authenticate(raw, 'b@slow.example',
                          ClientInfo('192.0.2.1', 'h', 'xforward'))
    assert v.temperror and v.status == Status.TEMPERROR
    assert {d.result for d in v.dkim} == {'temperror'}
    assert v.spf.result == 'temperror'


def test_public_suffix_list_setting(make_auth, tmp_path, signed):
    f = tmp_path / 'psl.dat'
    f.write_text('com\nexample.com\n')    # pretend example.com is a public suffix
    auth = make_auth(public_suffix_list=str(f))
    raw = signed(make_message(from_='a@x.example.com'), domain='y.example.com')
    assert auth.authenticate(raw, None).status == Status.NONE
    raw = signed(make_message(from_='a@x.example.com'), domain='x.example.com')
    assert auth.authenticate(raw, None).status == Status.PASS


def test_verdict_defaults():
    v = Verdict()
    assert v.status == Status.NONE and v.status_for('a@b.example') == Status.NONE
    assert isinstance(Authenticator(EngineSettings()).resolver.queries_sent, int)
