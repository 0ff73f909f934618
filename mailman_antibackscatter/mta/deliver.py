"""`[mta] outgoing` that signs every envelope sender with a return-path tag.

Mailman's own `deliver()` does everything else (choosing bulk or individual
delivery, logging, reporting failures); only its two delivery agents are
replaced by subclasses whose `_get_sender` adds the tag:

* bulk delivery, the default: Mailman's chunks, each with a tag bound to the
  list, the day and the message; a chunk of one recipient (every notice,
  probe, welcome, most digests of small lists) is VERP-encoded and bound to
  that recipient.  A shared tag proves the list sent the message, not who
  failed, so reaching the bounce threshold only ever sends a probe (see
  runners/bounce.py);
* with `per_recipient_return_path`, one transaction per recipient, each
  with its own VERP-encoded, recipient-bound tag, over one SMTP connection:
  the message is decorated and serialized once and only MAIL FROM differs,
  so the copies are the bulk copy byte for byte;
* individual delivery (Mailman's VERP on, or personalized lists): Mailman's
  per-recipient copies, the recipient always VERP-encoded (with Mailman's
  VERPMixin and the site's verp_format), so the tag is bound to it.

Postfix's XVERP cannot make these senders: the MAC covers the recipient,
and only the plugin knows the key.  The plugin installs this as `[mta]
outgoing` (plugin.py) unless the admin configured an outgoing function of
their own.
"""

import copy
import io

from email.generator import BytesGenerator

from mailman.mta import deliver as stock
from mailman.mta.bulk import BulkDelivery
from mailman.mta.deliver import Deliver
from mailman.mta.verp import VERPMixin
from mailman_antibackscatter.app.bounces import (
    policy, record_sent, sign_sender)
from mailman_antibackscatter.patches import delivery_agents
from public import public


def _kind(msgdata):
    return 'p' if msgdata.get('probe_token') else 'v'


def _bind_recipient(msgdata):
    """May this delivery's sender carry its one recipient (VERP)?

    Not when a sender was set explicitly (a probe carries its token there).
    """
    return msgdata.get('sender') is None and msgdata.get('recipient')


@public
class TaggedDeliver(Deliver):
    """Mailman's individual delivery, with a recipient-bound tag."""

    def _get_sender(self, mlist, msg, msgdata):
        if (not msgdata.get('verp') and _bind_recipient(msgdata)
                and msg.get('message-id') is not None):
            msgdata = dict(msgdata, verp=True)
        sender = super()._get_sender(mlist, msg, msgdata)
        return sign_sender(mlist, sender, _kind(msgdata),
                           msg.get('message-id'))


@public
class TaggedBulkDelivery(VERPMixin, BulkDelivery):
    """Mailman's bulk delivery, with a tag (recipient-bound for one)."""

    def _deliver_to_recipients(self, mlist, msg, msgdata, recipients):
        # (VERPMixin logs the Message-ID and fails without one.)
        if (len(recipients) == 1 and msgdata.get('sender') is None
                and msg.get('message-id') is not None):
            (recipient,) = recipients
            msgdata = dict(msgdata, verp=True, recipient=recipient)
        return super()._deliver_to_recipients(
            mlist, msg, msgdata, recipients)

    def _get_sender(self, mlist, msg, msgdata):
        sender = super()._get_sender(mlist, msg, msgdata)
        return sign_sender(mlist, sender, _kind(msgdata),
                           msg.get('message-id'))


class SerializedMessage(bytes):
    """A message serialized once, as smtplib's send_message would.

    Mailman's delivery code reads headers (the Message-ID) from what it
    sends: they are answered from the message it was made from.
    """

    def __new__(cls, msg):
        headers_kept = copy.copy(msg)
        del headers_kept['bcc']
        del headers_kept['resent-bcc']
        with io.BytesIO() as buffer:
            BytesGenerator(buffer).flatten(headers_kept, linesep='\r\n')
            serialized = super().__new__(cls, buffer.getvalue())
        serialized.message = msg
        return serialized

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.message[key]
        return super().__getitem__(key)

    def get(self, name, failobj=None):
        return self.message.get(name, failobj)


@public
class PerRecipientDelivery(TaggedBulkDelivery):
    """One transaction per recipient, the same bytes in each.

    Decorated and ARC-signed once, like a bulk delivery; only the envelope
    sender (a tag bound to the recipient) differs from one to the next.
    """

    def deliver(self, mlist, msg, msgdata):
        self.decorate(mlist, msg, msgdata)
        self.arc_sign(mlist, msg, msgdata)
        serialized = SerializedMessage(msg)
        refused = {}
        for recipient in sorted(msgdata.get('recipients', ())):
            # A non-ASCII address needs SMTPUTF8, which smtplib negotiates
            # only for a Message.
            data = serialized if recipient.isascii() else msg
            refused.update(self._deliver_to_recipients(
                mlist, data, msgdata, [recipient]))
        return refused


def _bulk_agent(pol, msg, msgdata):
    """The agent Mailman's deliver() uses when it does not personalize."""
    recipients = msgdata.get('recipients')
    if (pol.per_recipient and msgdata.get('sender') is None
            and msg.get('message-id') is not None
            and recipients and len(recipients) > 1):
        return PerRecipientDelivery
    return TaggedBulkDelivery


@public
def deliver(mlist, msg, msgdata):
    """Mailman's deliver(), with the tagging delivery agents."""
    pol = policy(mlist)
    if not pol.enabled:
        return stock.deliver(mlist, msg, msgdata)
    recipients = msgdata.get('recipients')
    try:
        with delivery_agents(TaggedDeliver,
                             _bulk_agent(pol, msg, msgdata)):
            return stock.deliver(mlist, msg, msgdata)
    finally:
        # Recorded after the SMTP transactions (also when some recipients
        # failed): on SQLite the write locks the whole database until
        # Mailman commits, and a big list's delivery takes minutes.
        if recipients and mlist is not None:
            record_sent(msg.get('message-id'), recipients, mlist.list_id)
