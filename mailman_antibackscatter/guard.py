"""The exit: one check that every automatic message passes before it is sent.

Mailman sends every automatic message (hold notices, reject bounces,
auto-replies, acknowledgements, command replies, confirmations, owner notices)
through `UserNotification.send`.  `patches.py` routes that call here.  When
the message answers an incoming message (there is a current trigger), each
recipient is checked:

* an owner/moderator recipient gets the notice according to `owner_notices`;
* anyone else is the sender being answered and needs the verdict `answer`
  asks for (by default: proven to be the author);
* and every answered sender is counted against one rate limit.

Recipients that fail the check are removed; when none is left the message is
not sent.  Each suppression is logged and counted.
"""

import logging

from mailman.config import config
from mailman_antibackscatter import decisions, ratelimit
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.runtime import get_settings
from mailman_antibackscatter.trigger import current, from_internal_client

log = logging.getLogger('mailman.antibackscatter')


def owner_addresses(mlist):
    """The list's -owner address and the site owner, lowercased.

    An owner's personal address is not here on purpose: a post forged in an
    owner's name is answered (or not) like any other sender's.
    """
    addresses = {config.mailman.site_owner.lower()}
    if mlist is not None:
        addresses.add(mlist.owner_address.lower())
    return addresses


def answer_allowed(settings, trigger, recipient):
    """(allowed, reason) for an automatic answer to *recipient*."""
    if settings.answer == 'all':
        return True, None
    status = trigger.status_for(recipient)
    if status is Status.PASS:
        return True, None
    if settings.answer == 'not-forged' and status is Status.NONE:
        return True, None
    if trigger.verdict is None:
        return False, 'answer-suppressed-no-verdict'
    return False, 'answer-suppressed-{}'.format(status.value)


def owner_notice_allowed(settings, trigger):
    if settings.owner_notices == 'immediate' or trigger.verdict is None:
        return True, None
    if from_internal_client(trigger.verdict,
                            settings.engine.internal_networks):
        return True, None
    status = trigger.verdict.status
    if settings.owner_notices == 'authenticated-only':
        if status is Status.PASS:
            return True, None
        return False, 'owner-notice-suppressed-{}'.format(status.value)
    if status is Status.FAIL:
        return False, 'owner-notice-suppressed-fail'
    return True, None


def filter_recipients(notification, mlist):
    """The recipients of *notification* that may receive it, as a set."""
    recipients = set(notification.recipients)
    trigger = current()
    settings = get_settings()
    if trigger is None or not settings.enabled:
        return recipients
    from mailman.email.message import OwnerNotification
    owners = owner_addresses(mlist)
    to_owners = isinstance(notification, OwnerNotification)
    list_id = mlist.list_id if mlist is not None else trigger.list_id
    allowed = set()
    for recipient in recipients:
        if recipient.lower() in trigger.chosen:
            allowed.add(recipient)
            continue
        if to_owners or recipient.lower() in owners:
            # Owners are limited by the notice policy, not the rate limit.
            ok, reason = owner_notice_allowed(settings, trigger)
        else:
            ok, reason = answer_allowed(settings, trigger, recipient)
            if ok and settings.ratelimit_enabled:
                ok, reason = ratelimit.allow(recipient, settings)
        if ok:
            allowed.add(recipient)
            continue
        decisions.record(
            reason, list_id=list_id, message_id=trigger.message_id,
            verdict=trigger.verdict, action='not sent', recipient=recipient,
            detail='{} subject={!r}'.format(
                trigger.where, str(notification.get('subject', ''))[:80]))
    return allowed


def guarded_send(original):
    """Wrap `UserNotification.send` with the exit check."""
    def send(self, mlist, *args, **kws):
        try:
            allowed = filter_recipients(self, mlist)
        except Exception:
            # Our own failure must not send mail to a possibly forged address,
            # and must not lose the triggering message either: log, don't send.
            log.exception('exit check failed; automatic message %s not sent',
                          self.get('message-id', '-'))
            return None
        if not allowed:
            return None
        if allowed != set(self.recipients):
            self.recipients = allowed
        return original(self, mlist, *args, **kws)
    send.__wrapped__ = original
    send.__doc__ = original.__doc__
    return send
