"""Mailman's own ConfigLayer with the plugin enabled, and a real DNS server.

Mailman's configuration is process-global, so these tests set the layer up
once per session, on SQLite or, with --mailman-database=postgresql, on the
run's PostgreSQL server (tests/conftest.py).  The plugin is enabled the way
a site enables it: a [plugin.antibackscatter] section in the configuration
Mailman reads.
"""

import pytest

from tests.harness.dnsserver import DNSServer
from tests.harness.instance import database_class_for
from tests.harness.signing import generate_rsa_key

AUTHSERV_ID = 'lists.example.com'


@pytest.fixture(scope='session')
def dns():
    with DNSServer() as server:
        pem, txt = generate_rsa_key(2048)
        server.key_pem = pem
        server.add('example.org', 'TXT', 'v=spf1 ip4:192.0.2.0/24 -all')
        server.add('sel._domainkey.example.org', 'TXT', txt)
        server.add('_dmarc.example.org', 'TXT', 'v=DMARC1; p=reject')
        server.add('victim.example', 'TXT', 'v=spf1 ip4:198.51.100.0/24 -all')
        server.add('_dmarc.victim.example', 'TXT', 'v=DMARC1; p=reject')
        server.add('plain.example', 'A', '198.51.100.30')
        yield server


def database_section(request):
    """The [database] section for --mailman-database, or '' for SQLite.

    On PostgreSQL the layer gets its own database on the run's server;
    Mailman's testing factory drops and recreates every table in it, and
    empties them between tests, exactly as on SQLite.
    """
    if request.config.getoption('--mailman-database') != 'postgresql':
        return ''
    server = request.getfixturevalue('postgres')
    url = server.create_database('component_layer')
    return '\n[database]\nclass: {}\nurl: {}\n'.format(
        database_class_for(url), url)


@pytest.fixture(scope='session')
def mailman_layer(request, dns, tmp_path_factory):
    from tests.harness.layer import plugin_config_layer
    options = (
        '[antibackscatter]\nauthserv_id: {}\n[dns]\nnameservers: '
        '127.0.0.1:{}\ntimeout: 2\n[ratelimit]\nper_recipient: 3\n'
        'per_domain: 5\n'.format(AUTHSERV_ID, dns.port))
    with plugin_config_layer(tmp_path_factory.mktemp('plugin'),
                             options, database_section(request)) as layer:
        yield layer


@pytest.fixture
def mailman(mailman_layer):
    from tests.harness.layer import generate_key_file
    mailman_layer.testSetUp()
    generate_key_file()
    try:
        yield mailman_layer
    finally:
        mailman_layer.testTearDown()
