"""poc_redos_lmtp: one message with a 64 KB DKIM-Signature whose b= is
folded white space (no authentication needed) must not stall the door; a
normal signed post sent at the same time over another LMTP session must
not wait for it (review B.3).

At 8faf8a4 the attacker's delivery took 12.0 s and the normal one waited
11.6 s.  Fixed: linear b= validation; both are answered at once.  Fails
on 10 s for the normal session (a few tenths of a second when fixed, on
a loaded machine).  tests/e2e/test_bounded_door.py asserts the outcome
with a second payload (a 387 KB Received-SPF) in the hostile message.
"""

import threading
import time

from tests.harness.scenario import list_address
from tests.reproducers.common import Observation, main_e2e

NAME = 'poc_redos_lmtp'
BOUND = 10.0
EVIL = 'x@attacker.example'
ANNE = 'anne@example.org'


def observe(world):
    fqdn = list_address('redos')
    world.mailman.create_list(fqdn)
    evil, _ = world.message(sender=EVIL, to=fqdn, headers=[
        'DKIM-Signature: v=1; a=rsa-sha256; d=attacker.example; s=s;'
        ' h=from; bh=AAAA; b=A'
        + ''.join('\r\n' + ' ' * 998 for _ in range(64)) + '!'])
    good, _ = world.message(sender=ANNE, to=fqdn, sign=True)
    out = {}

    def send(name, raw, sender):
        start = time.monotonic()
        reply = world.deliver(raw, mail_from=sender, rcpt_to=fqdn)
        out[name] = (list(reply.values())[0][0], time.monotonic() - start)

    first = threading.Thread(target=send, args=('evil', evil, EVIL))
    first.start()
    time.sleep(0.5)
    second = threading.Thread(target=send, args=('good', good, ANNE))
    second.start()
    first.join()
    second.join()
    return Observation(NAME, [
        'evil session %d in %.1f s, concurrent normal session %d in %.1f s '
        '(was 12.0 s and 11.6 s at 8faf8a4)' % (out['evil'] + out['good'])],
        outcome=out['evil'][0] == 250 and out['good'][0] == 250,
        timely=max(out['evil'][1], out['good'][1]) < BOUND,
        figures={'evil': out['evil'][1], 'good': out['good'][1]})


if __name__ == '__main__':
    main_e2e(observe)
