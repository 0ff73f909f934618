"""poc_redos_e2e: one DKIM-Signature whose b= is 'A', ~64 KB of folded
white space, then '!' (folded into 1000-byte lines, as an MTA passes it):
the time Authenticator.authenticate spends, and how long another thread
of the process (the door's other sessions) is stalled (review B.3).

At 8faf8a4: 8.2 s in the review, 23.9 s when rerun on this machine, and
another thread stalled for all of it.  Fixed: linear validation, the
signature is permerror at once.  Fails on 1 s for either figure (the
fixed code needs a few hundredths of a second).
"""

import threading
import time

from mailman_antibackscatter.auth import ClientInfo
from tests.harness.dnsserver import DNSServer
from tests.reproducers.common import Observation, authenticator, main

NAME = 'poc_redos_e2e'
BOUND = 1.0
PAD = b''.join(b'\r\n' + b' ' * 998 for _ in range(64))
SIGNATURE = (b'DKIM-Signature: v=1; a=rsa-sha256; d=attacker.example; s=s;'
             b' h=from; bh=AAAA; b=A' + PAD + b'!\r\n')
RAW = (b'Received: from bot (bot [203.0.113.66]) by mx;'
       b' Mon, 1 Dec 2025 10:00:00 +0000\r\n' + SIGNATURE +
       b'From: x@attacker.example\r\nSubject: s\r\nMessage-ID: <r@x>\r\n'
       b'\r\nb\r\n')


def observe():
    ticks, done = [], threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.05)

    with DNSServer() as dns:
        auth = authenticator(dns, authserv_id='ab')
        thread = threading.Thread(target=ticker)
        thread.start()
        start = time.monotonic()
        verdict = auth.authenticate(
            RAW, 'x@attacker.example',
            ClientInfo('203.0.113.66', 'bot', 'xforward'))
        elapsed = time.monotonic() - start
        done.set()
        thread.join()
    stall = max((b - a for a, b in zip(ticks, ticks[1:])), default=elapsed)
    result = verdict.dkim[0].result
    return Observation(NAME, [
        '%d-byte DKIM-Signature: authenticate %.3f s, dkim=%s, longest '
        'stall of another thread %.3f s (was 8.2-23.9 s at 8faf8a4)'
        % (len(SIGNATURE), elapsed, result, stall)],
        outcome=result == 'permerror',
        timely=max(elapsed, stall) < BOUND,
        figures={'seconds': elapsed, 'stall': stall})


if __name__ == '__main__':
    main(observe)
