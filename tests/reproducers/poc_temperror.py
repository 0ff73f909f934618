"""poc_temperror: one DKIM-Signature whose key lookup never answers must not
turn an aligned SPF hard fail for a p=reject domain into temperror (review
B.6).

At 8faf8a4 the slow signature spent the whole DNS budget, the From
domain's DMARC lookup then failed, and the forgery was temperror: a
forged command got 451 and the MTA's DSN went to the forged sender.
Fixed: the DMARC record is looked up first with its own share of the
budget, and a temperror on an unaligned domain changes nothing: fail both
times.  tests/unit/test_decisive_evidence.py covers the same input.
"""

from mailman_antibackscatter.auth import ClientInfo, Status
from tests.harness.dnsserver import DNSServer
from tests.reproducers.common import Observation, authenticator, main, timed

NAME = 'poc_temperror'
AUTHOR = 'victim@victim.example'
SLOW_SIGNATURE = (b'DKIM-Signature: v=1; a=rsa-sha256;'
                  b' d=slow.attacker.example; s=s;'
                  b' h=from; bh=AAAA; b=AAAA\r\n')


def message(extra=b''):
    return (extra +
            b'From: victim@victim.example\r\n'
            b'To: l-request@lists.example.net\r\n'
            b'Subject: unsubscribe\r\nMessage-ID: <t@x>\r\n\r\n'
            b'unsubscribe\r\n')


def observe():
    client = ClientInfo('203.0.113.66', 'mx.attacker.example', 'xforward')
    seen = []
    with DNSServer() as dns:
        dns.add('victim.example', 'TXT', 'v=spf1 ip4:198.51.100.7 -all')
        dns.add('_dmarc.victim.example', 'TXT', 'v=DMARC1; p=reject')
        dns.blackhole('slow.attacker.example')
        for label, raw in (('plain forgery', message()),
                           ('with slow DKIM sig', message(SLOW_SIGNATURE))):
            auth = authenticator(dns)          # a fresh cache each time
            verdict, seconds = timed(auth.authenticate, raw, AUTHOR, client)
            seen.append((label, verdict.status_for(AUTHOR), seconds))
    outcome = all(status is Status.FAIL for _, status, _ in seen)
    return Observation(NAME, [
        '; '.join('%s: verdict %s (%.1f s)' % (label, status.value, seconds)
                  for label, status, seconds in seen)
        + ' (was temperror with the slow signature at 8faf8a4)'], outcome)


if __name__ == '__main__':
    main(observe)
