# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the engine unit tests: one real DNS server on loopback."""

import pytest

from mailman_antibackscatter.auth import Authenticator, EngineSettings
from tests.harness.dnsserver import DNSServer
from tests.harness.signing import dkim_sign, generate_rsa_key


@pytest.fixture(scope='session')
def _dns_session():
    with DNSServer() as srv:
        yield srv


@pytest.fixture
def dns_server(_dns_session):
    _dns_session.clear()
    yield _dns_session
    _dns_session.clear()


@pytest.fixture
def make_auth(dns_server):
    def factory(**kws):
        kws.setdefault('nameservers', (dns_server.address,))
        kws.setdefault('dns_timeout', 2.0)
        kws.setdefault('authserv_id', 'lists.example.net')
        return Authenticator(EngineSettings(**kws))
    return factory


@pytest.fixture
def auth(make_auth):
    return make_auth()


@pytest.fixture
def rsa_key():
    return generate_rsa_key(2048)


@pytest.fixture
def signed(dns_server, rsa_key):
    """Factory: sign a message for a domain and publish its key."""
    def factory(raw, domain='example.com', selector='s1', key=None, **kws):
        pem, txt = key or rsa_key
        dns_server.add('%s._domainkey.%s' % (selector, domain), 'TXT', txt)
        return dkim_sign(raw, domain, selector, pem, **kws)
    return factory

