"""poc_replay: the door's header of a genuine post, taken from a member's
copy and pasted onto a different forged post for another list (where the
author is not a member), queued through REST past the door (review B.2).

At 8faf8a4 the sealed header was a bearer token: with it, the forgery's
"author" anne got the "awaits moderator approval" notice; without it,
nothing.  Fixed: the verdict travels in msgdata, which only the door
writes, so the header proves nothing: no automatic message to anne with
or without it.  tests/e2e/test_trust.py::
test_list_copies_carry_no_replayable_verdict makes the same replay
through `mailman inject`.
"""

import email

from tests.harness.scenario import AUTHSERV_ID, list_address
from tests.reproducers.common import Observation, main_e2e

NAME = 'poc_replay'
ANNE, BOB = 'anne@example.org', 'bob@example.org'


def forged(header, other, n):
    pasted = 'Authentication-Results: %s\r\n' % header if header else ''
    return pasted + (
        'From: anne@example.org\r\nTo: %s\r\n'
        'Subject: FORGED %d\r\nMessage-ID: <forged-replay-%d@evil>\r\n'
        'Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n\r\n'
        'This is not from anne.\r\n' % (other, n, n))


def observe(world):
    mm = world.mailman
    fqdn, other = list_address('replay'), list_address('replay-other')
    mm.create_list(fqdn)
    mm.create_list(other)
    for address in (ANNE, BOB):
        mm.add_member(fqdn, address)
    mid = world.send(sender=ANNE, to=fqdn, sign=True, subject='hello all')
    copy = world.sink.wait_for(
        lambda d: BOB in d.rcpt_tos and mid.encode() in d.data, timeout=120)
    ours = [value for value in email.message_from_bytes(copy.data).get_all(
        'Authentication-Results', []) if str(value).strip().startswith(
            AUTHSERV_ID)]
    header = str(ours[0]).replace('\r\n', '\n').replace('\n', '\r\n')
    seen = []
    for n, pasted in ((1, None), (2, header)):
        response = mm.rest('POST', 'queues/in', data={
            'list_id': mm.list_id(other), 'text': forged(pasted, other, n)})
        mm.wait_idle(60)
        notes = [str(d.message.get('Subject')) for d in world.sent_to(ANNE)
                 if b'forged-replay-%d@evil' % n in d.data]
        held = [h.get('subject') for h in mm.held(other)]
        seen.append((n, pasted is not None, response.status_code, notes))
    outcome = all(status < 300 and not notes
                  for _n, _p, status, notes in seen)
    return Observation(NAME, [
        '; '.join('inject %d (pasted header: %s): REST %d, automatic '
                  'messages to anne %s' % row for row in seen)
        + ' (was a hold notice to anne with the header at 8faf8a4)',
        'held on %s: %s; the pasted header has policy.*: %s'
        % (other, held, 'policy.' in header)], outcome)


if __name__ == '__main__':
    main_e2e(observe)
