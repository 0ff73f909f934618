"""poc_e2e: four checks of the security review on a real Mailman 3.3.10
with the plugin (a World: Mailman, its DNS server, an SMTP sink).

1. What the door's Authentication-Results header gives list members: at
   8faf8a4 a sealed, replayable verdict (policy.state, policy.seal) and
   the poster's client IP and HELO.  Fixed: no policy.* and no client.
2. That header pasted onto a different, forged post from the same member,
   queued through REST (POST /3.1/queues/in, past the door): at 8faf8a4
   the seal was honoured.  Fixed: the post has no verdict in its msgdata,
   so its author is unproven and not answered (the forged-member rule
   holds a post with no verdict).
3. The trust zone: LMTP without XFORWARD, the MTA's Received records the
   client's HELO "[127.0.0.1]": at 8faf8a4 the attacker's own Received
   was taken as the client and the forged victim got a hold notice.
   Fixed: verdict fail, nothing sent to the victim.
4. A forged command with one DKIM-Signature whose key lookup never
   answers: at 8faf8a4 LMTP 451 (then the MTA's DSN to the forged
   sender).  Fixed: 250, the command is ignored.
tests/e2e/test_trust.py covers 1 and 3 with inputs of its own.
"""

import email
import time

from tests.harness.scenario import AUTHSERV_ID, SPAMMER, list_address
from tests.reproducers.common import Observation, main_e2e

NAME = 'poc_e2e'
ANNE, BOB = 'anne@example.org', 'bob@example.org'
VICTIM = 'alice@victim.example'


def our_headers(data):
    """Our Authentication-Results values (unfolded) in a delivered copy."""
    return [' '.join(str(value).split()) for value in
            email.message_from_bytes(data).get_all(
                'Authentication-Results', [])
            if str(value).strip().startswith(AUTHSERV_ID)]


def answers(world, address, message_id):
    """Automatic messages to *address* about *message_id*: deliveries that
    mention it and are not a list copy of it."""
    found = []
    for delivery in world.sent_to(address):
        if message_id.encode() not in delivery.data:
            continue
        if delivery.message.get('Message-ID', '').strip() == message_id:
            continue                          # the list copy itself
        found.append(delivery.message.get('Subject'))
    return found


def step_leak(world, fqdn):
    mid = world.send(sender=ANNE, to=fqdn, sign=True, subject='hello all')
    copy = world.sink.wait_for(
        lambda d: BOB in d.rcpt_tos and mid.encode() in d.data, timeout=120)
    headers = our_headers(copy.data)
    leaks = [h for h in headers
             if 'policy.' in h or '192.0.2.10' in h or 'mx.example.org' in h]
    return headers, leaks


def step_replay(world, fqdn, headers):
    mid = '<forged-replay@evil>'
    forged = ''.join('Authentication-Results: %s\r\n' % h for h in headers) \
        + ('From: anne@example.org\r\nTo: %s\r\n'
           'Subject: FORGED via replay\r\nMessage-ID: %s\r\n'
           '\r\nThis is not from anne.\r\n' % (fqdn, mid))
    response = world.mailman.rest('POST', 'queues/in', data={
        'list_id': world.mailman.list_id(fqdn), 'text': forged})
    world.mailman.wait_idle(60)
    distributed = any(mid.encode() in d.data for d in world.sent_to(BOB))
    return response.status_code, answers(world, ANNE, mid), distributed


def step_trustzone(world, fqdn):
    body = ('Received: from [127.0.0.1] (unknown [203.0.113.66])\r\n'
            '\tby mail.lists.example.net (Postfix) with ESMTP id 4AbC;\r\n'
            '\tMon, 1 Dec 2025 10:00:00 +0000\r\n'
            'Received: from mail.victim.example (mail.victim.example'
            ' [198.51.100.7])\r\n'
            '\tby relay.victim.example; Mon, 1 Dec 2025 09:59:00 +0000\r\n'
            'From: alice@victim.example\r\nTo: ' + fqdn + '\r\n'
            'Subject: forged nonmember post\r\nMessage-ID: <tz-1@evil>\r\n'
            '\r\nspam\r\n')
    reply = world.deliver(body.encode(), mail_from=VICTIM, rcpt_to=fqdn,
                          xforward=False)
    world.mailman.wait_idle(60)
    door = [line for line in world.mailman.log('antibackscatter')
            .splitlines() if 'tz-1@evil' in line and 'door:' in line]
    verdict = door[0].split('verdict=')[1].split()[0] if door else None
    return reply, verdict, [d.message.get('Subject')
                            for d in world.sent_to(VICTIM)]


def step_command(world):
    raw = ('Received: from bot (bot [203.0.113.66]) by'
           ' mail.lists.example.net (Postfix);'
           ' Mon, 1 Dec 2025 10:00:00 +0000\r\n'
           'DKIM-Signature: v=1; a=rsa-sha256; d=dnsdown.example; s=s;'
           ' h=from; bh=AAAA; b=AAAA\r\n'
           'From: carl@fresh-uncached.example\r\n'
           'To: poc-request@lists.example.net\r\nSubject: help\r\n'
           'Message-ID: <cmd-1@evil>\r\n\r\nhelp\r\n').encode()
    start = time.monotonic()
    reply = world.deliver(raw, mail_from='carl@fresh-uncached.example',
                          rcpt_to=list_address('poc-request'),
                          client=SPAMMER)
    return list(reply.values())[0], time.monotonic() - start


def observe(world):
    fqdn = list_address('poc')
    world.mailman.create_list(fqdn)
    for address in (ANNE, BOB):
        world.mailman.add_member(fqdn, address)
    headers, leaks = step_leak(world, fqdn)
    status, to_anne, distributed = step_replay(world, fqdn, headers)
    reply, verdict, to_victim = step_trustzone(world, fqdn)
    (code, _text), seconds = step_command(world)
    outcome = (bool(headers) and not leaks and status < 300
               and not to_anne and verdict == 'fail' and not to_victim
               and code == 250)
    return Observation(NAME, [
        '1. list copy: %d header(s) of ours, %d with policy.* or the '
        'client; 2. pasted on a REST-injected forgery: answers to anne %s '
        '(distributed: %s); 3. HELO [127.0.0.1]: verdict %s, to victim %s; '
        '4. slow-DKIM command: LMTP %d in %.1f s'
        % (len(headers), len(leaks), to_anne, distributed, verdict,
           to_victim, code, seconds),
        '(was at 8faf8a4: sealed header leaked and honoured, pass and a '
        'hold notice to the victim, 451)'], outcome)


if __name__ == '__main__':
    main_e2e(observe)
