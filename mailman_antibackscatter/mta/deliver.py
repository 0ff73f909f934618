"""`[mta] outgoing` that signs every envelope sender with a return-path tag.

Mailman's own `deliver()` does everything else (choosing bulk or individual
delivery, logging, reporting failures); only its two delivery agents are
replaced by subclasses whose `_get_sender` adds the tag:

* individual delivery (VERP on, or personalized lists): the recipient is
  always VERP-encoded (with Mailman's VERPMixin and the site's verp_format),
  so the tag is bound to that recipient;
* with `per_recipient_return_path` (the default) every message that has a
  Message-ID and no explicitly chosen sender goes out through individual
  delivery, exactly as with Mailman's own VERP delivery, so no tag is ever
  shared by two recipients and no member can replay theirs;
* otherwise bulk delivery: a chunk of one recipient (every notice, probe,
  welcome, most digests of small lists) is VERP-encoded and bound the same
  way; a chunk of several shares a list-level tag.

The plugin installs this as `[mta] outgoing` (plugin.py) unless the admin
configured an outgoing function of their own.
"""

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


@public
def deliver(mlist, msg, msgdata):
    """Mailman's deliver(), with the tagging delivery agents."""
    pol = policy(mlist)
    if not pol.enabled:
        return stock.deliver(mlist, msg, msgdata)
    recipients = msgdata.get('recipients')
    if (pol.per_recipient and not msgdata.get('verp')
            and msgdata.get('sender') is None
            and msg.get('message-id') is not None
            and recipients and len(recipients) > 1):
        # Mailman's own switch for individual (VERP) delivery.
        msgdata['verp'] = True
    try:
        with delivery_agents(TaggedDeliver, TaggedBulkDelivery):
            return stock.deliver(mlist, msg, msgdata)
    finally:
        # Recorded after the SMTP transactions (also when some recipients
        # failed): on SQLite the write locks the whole database until
        # Mailman commits, and a big list's delivery takes minutes.
        if recipients and mlist is not None:
            record_sent(msg.get('message-id'), recipients, mlist.list_id)
