"""poc_redos_arc: the quadratic b= pattern of dkimpy 1.1.8, reached through
the ARC path (an ARC-Message-Signature whose b= is 'A', 64 KB of folded
white space and '!'; review B.3).

Not vulnerable at 8faf8a4 either (0.0 s: dkimpy saw relaxed headers);
now the engine validates the value itself before dkimpy sees it.  Fails
on 0.5 s or on an ARC result other than fail.
tests/unit/test_bounded_work.py::test_hostile_arc_signature_never_reaches_dkimpy
covers the same input.
"""

from mailman_antibackscatter.auth import ClientInfo
from tests.harness.dnsserver import DNSServer
from tests.reproducers.common import Observation, authenticator, main, timed

NAME = 'poc_redos_arc'
BOUND = 0.5
PAD = b''.join(b'\r\n' + b' ' * 998 for _ in range(64))
RAW = (b'Received: from bot (bot [203.0.113.66]) by mx;'
       b' Mon, 1 Dec 2025 10:00:00 +0000\r\n'
       b'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=attacker.example; s=s;'
       b' b=AAAA\r\n'
       b'ARC-Message-Signature: i=1; a=rsa-sha256; d=attacker.example; s=s;'
       b' h=from; bh=AAAA; b=A' + PAD + b'!\r\n'
       b'ARC-Authentication-Results: i=1; mx.attacker.example; none\r\n'
       b'From: x@attacker.example\r\nSubject: s\r\nMessage-ID: <a@x>\r\n'
       b'\r\nb\r\n')


def observe():
    with DNSServer() as dns:
        auth = authenticator(dns, authserv_id='ab')
        verdict, seconds = timed(
            auth.authenticate, RAW, 'x@attacker.example',
            ClientInfo('203.0.113.66', 'bot', 'xforward'))
    return Observation(NAME, [
        'ARC path: %.3f s, arc=%s (%s) (0.0 s, fail at 8faf8a4 too)'
        % (seconds, verdict.arc.result, verdict.arc.reason[:60])],
        outcome=verdict.arc.result == 'fail', timely=seconds < BOUND,
        figures={'seconds': seconds})


if __name__ == '__main__':
    main(observe)
