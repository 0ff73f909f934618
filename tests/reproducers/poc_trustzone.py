"""poc_trustzone: a client HELO of "[127.0.0.1]" must not make the MTA's
own Received header look internal (review B.1).

The forged Authentication-Results and Received below the MTA's header
are the attacker's; at 8faf8a4 the walk went past the MTA's header into
them and boss@victim.example was pass.  Fixed: the client is the MTA's
TCP info (203.0.113.66) and the forgery is fail, with and without
XFORWARD and with the forged id trusted.  tests/unit/test_trustzone.py
covers the same input piece by piece.
"""

from mailman_antibackscatter.auth import ClientInfo, Status
from mailman_antibackscatter.auth.headers import parse_received
from tests.harness.dnsserver import DNSServer
from tests.reproducers.common import Observation, authenticator, main

NAME = 'poc_trustzone'
AUTHOR = 'boss@victim.example'
MTA_RECEIVED = ('Received: from [127.0.0.1] (unknown [203.0.113.66])\r\n'
                '\tby mx.example.net (Postfix) with ESMTP id 4AbC;\r\n'
                '\tMon, 1 Dec 2025 10:00:00 +0000\r\n')
FORGED = (
    # what the attacker put into DATA
    'Authentication-Results: mx.example.net; dkim=pass'
    ' header.d=victim.example; spf=pass smtp.mailfrom=victim.example\r\n'
    'Received: from mail.victim.example (mail.victim.example'
    ' [198.51.100.7])\r\n'
    '\tby relay.victim.example; Mon, 1 Dec 2025 09:59:00 +0000\r\n'
    'From: Boss <boss@victim.example>\r\n'
    'To: list@lists.example.net\r\nSubject: forged\r\n'
    'Message-ID: <f@x>\r\n\r\nbody\r\n')
RAW = (MTA_RECEIVED + FORGED).encode()


def observe():
    client_ip = parse_received(
        MTA_RECEIVED.split(':', 1)[1].replace('\r\n\t', ' '))
    seen = {}
    with DNSServer() as dns:
        dns.add('victim.example', 'TXT', 'v=spf1 ip4:198.51.100.7 -all')
        dns.add('_dmarc.victim.example', 'TXT', 'v=DMARC1; p=reject')
        for label, trusted in (('untrusted', ()),
                               ('trusted', ('mx.example.net',))):
            auth = authenticator(dns, trusted_authserv_ids=frozenset(trusted))
            for how, client in (('no-xforward', None), (
                    'xforward', ClientInfo('203.0.113.66', '[127.0.0.1]',
                                           'xforward'))):
                verdict = auth.authenticate(RAW, AUTHOR, client)
                seen['%s/%s' % (label, how)] = verdict.status_for(AUTHOR)
    statuses = ', '.join('%s %s' % (k, v.value) for k, v in seen.items())
    outcome = all(v is Status.FAIL for v in seen.values())
    return Observation(NAME, [
        'HELO [127.0.0.1] client: verdict %s (was pass at 8faf8a4)'
        % statuses,
        'parse_received(MTA header) -> %s' % (client_ip,)], outcome)


if __name__ == '__main__':
    main(observe)
