# SPDX-License-Identifier: GPL-3.0-or-later
"""One hostile message does not hold up the door: concurrent LMTP sessions
on a real Mailman, one carrying the payloads that once took the door
seconds to minutes (a DKIM b= value of 64 KB of folded white space, a
Received-SPF header of 387 KB), one an ordinary signed member post.

No wall-clock threshold (the machine is shared): the durations are
measured and printed; the test asserts the outcomes, that the hostile
message was decided by the bounded checks and the ordinary post was
answered and distributed while the hostile session was open.
"""

import threading
import time

import pytest

from tests.harness.scenario import AUTHENTIC_MX, SPAMMER, list_address

pytestmark = pytest.mark.e2e

ANNE = 'anne@example.org'
HOSTILE_FROM = 'x@attacker.example'


@pytest.fixture(scope='module')
def busy_list(world):
    world.mailman.create_list(list_address('busy'))
    world.mailman.add_member(list_address('busy'), ANNE)
    return list_address('busy')


def _hostile(world, to):
    fold = b''.join(b'\r\n' + b' ' * 998 for _ in range(64))
    spf = b'\r\n '.join([b'a' * 990] * 400)
    raw, message_id = world.message(
        sender=HOSTILE_FROM, to=to, client=SPAMMER, subject='hostile',
        headers=['Received-SPF: pass\r\n ' + spf.decode()])
    raw = (b'DKIM-Signature: v=1; a=rsa-sha256; d=attacker.example; s=s;'
           b' h=from; bh=AAAA; b=A' + fold + b'!\r\n' + raw)
    return raw, message_id


def test_hostile_message_does_not_hold_up_another_session(world, busy_list):
    hostile, hostile_id = _hostile(world, busy_list)
    normal, normal_id = world.message(sender=ANNE, to=busy_list, sign=True,
                                      subject='ordinary post')
    times, replies = {}, {}
    hostile_sent = threading.Event()

    def deliver(name, raw, sender, client):
        times[name] = [time.monotonic()]
        if name == 'hostile':
            hostile_sent.set()
        replies[name] = world.deliver(raw, mail_from=sender,
                                      rcpt_to=busy_list, client=client)
        times[name].append(time.monotonic())

    sessions = [
        threading.Thread(target=deliver, args=(
            'hostile', hostile, HOSTILE_FROM, SPAMMER)),
        threading.Thread(target=deliver, args=(
            'normal', normal, ANNE, AUTHENTIC_MX))]
    sessions[0].start()
    hostile_sent.wait()
    sessions[1].start()
    for session in sessions:
        session.join()
    for name in ('hostile', 'normal'):
        print('%s session: %.3f s' % (name, times[name][1] - times[name][0]))
    assert [code for code, _text in replies['normal'].values()] == [250]
    assert [code for code, _text in replies['hostile'].values()] == [250], \
        replies['hostile']
    # the ordinary post is distributed; the hostile one was decided by the
    # linear b= check, not by running out of any budget
    world.sink.wait_for(lambda d: ANNE in d.rcpt_tos
                        and normal_id.encode() in d.data)
    door = [line for line in world.mailman.log('antibackscatter')
            .splitlines() if hostile_id in line]
    assert door and 'verdict=' in door[0], door
    assert 'CPU budget' not in door[0]
