"""Messages checked by the real door code, for Mailman component tests.

incoming() stamps a message as the door does; enqueue() queues it with
the door's verdict in msgdata, as the door queues it.
"""

import email
import email.utils
import itertools
import weakref

from mailman.config import config
from mailman.email.message import Message
from mailman_antibackscatter.auth import ClientInfo
from mailman_antibackscatter.config.runtime import get_authenticator
from mailman_antibackscatter.app.trigger import MSGDATA_KEY, msgdata_verdict
from tests.harness.signing import dkim_sign

AUTHENTIC = ('192.0.2.10', 'mx.example.org')
SPAMMER = ('203.0.113.66', 'bot.spam.test')
_numbers = itertools.count(1)
# The verdict the door found for each message incoming() made.
_door_verdicts = weakref.WeakKeyDictionary()


def incoming(dns, *, sender, to, subject='hello', body='Hi.\n', sign=False,
             client=AUTHENTIC, mail_from=None, headers=(),
             without_from=False):
    """(Message, verdict) as the door would queue it; *without_from*
    leaves out the From header (*sender* is still the envelope sender)."""
    number = next(_numbers)
    lines = ['From: ' + sender, 'To: ' + to, 'Subject: ' + subject,
             'Date: ' + email.utils.formatdate(),
             'Message-ID: <component-{}@{}>'.format(
                 number, sender.rpartition('@')[2])]
    lines.extend(headers)
    if without_from:
        del lines[0]
    raw = ('\r\n'.join(lines) + '\r\n\r\n' + body.replace('\n', '\r\n')
           ).encode('utf-8')
    if sign:
        raw = dkim_sign(raw, 'example.org', 'sel', dns.key_pem)
    envelope = sender if mail_from is None else mail_from
    authenticator = get_authenticator()
    verdict = authenticator.authenticate(
        raw, envelope, ClientInfo(ip=client[0], helo=client[1],
                                  source='xforward'))
    msg = email.message_from_bytes(authenticator.stamp(raw, verdict),
                                   Message)
    msg.set_unixfrom(envelope)
    msg.original_size = len(raw)            # as Mailman's LMTP runner does
    _door_verdicts[msg] = verdict
    return msg, verdict


def enqueue(queue, mlist, msg, **msgdata):
    """Queue *msg*; one from incoming() as the door queues it."""
    msgdata.setdefault('original_size', len(msg.as_bytes()))
    verdict = _door_verdicts.get(msg)
    if verdict is not None:
        msgdata[MSGDATA_KEY] = msgdata_verdict(verdict)
    config.switchboards[queue].enqueue(msg, listid=mlist.list_id, **msgdata)


def recipients_of(queue):
    """[(recipients, subject)] of everything in *queue* (and empties it)."""
    from mailman.testing.helpers import get_queue_messages
    return [(set(item.msgdata.get('recipients', ())),
             str(item.msg.get('subject', '')))
            for item in get_queue_messages(queue)]
