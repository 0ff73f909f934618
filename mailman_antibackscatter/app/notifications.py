"""The exit: one check that every automatic message passes before it is sent.

Mailman sends every automatic message (hold notices, reject bounces,
auto-replies, acknowledgements, command replies, confirmations, owner notices)
through `UserNotification.send`.  `patches.py` routes that call here.  When
the message answers an incoming message (there is a current trigger), each
recipient is checked:

* an owner/moderator recipient gets the notice according to `owner_notices`
  (a notice left for the periodic summary is remembered in QuietHold);
* anyone else is the sender being answered and needs the verdict `answer`
  asks for (by default: proven to be the author);
* and every answered sender is counted against one rate limit.

Recipients that fail the check are removed; when none is left the message is
not sent.  Each suppression is logged and counted, and so is each notice let
through (`notice-sent-<path>`), so statistics can show both.  The policy is
the list's own (`listsettings.policy_for`).
"""

import logging

from mailman.config import config
from mailman.email.message import OwnerNotification
from mailman.utilities.datetime import now
from mailman_antibackscatter.app import decisions, ratelimit
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current, from_internal_client
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.model.schema import savepoint
from mailman_antibackscatter.model.tables import QuietHold
from sqlalchemy import select

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
    if trigger.verdict is None:
        return False, 'answer-suppressed-no-verdict'
    if trigger.verdict.from_address is None:
        # No single From: nobody is proven to be the author.
        return False, 'answer-suppressed-no-author'
    status = trigger.status_for(recipient)
    if status is Status.PASS:
        return True, None
    if settings.answer == 'not-forged' and status is Status.NONE:
        return True, None
    return False, 'answer-suppressed-{}'.format(status.value)


def owner_notice_allowed(settings, trigger):
    """(allowed, reason) for an owner notice caused by *trigger*."""
    policy = settings.owner_notices
    if policy == 'immediate':
        return True, None
    if policy == 'none':
        return False, 'owner-notice-suppressed-policy'
    if policy == 'summary':
        return False, 'owner-notice-summarized'
    if trigger.verdict is None or trigger.verdict.from_address is None:
        # Nothing about the author is proven: the summary lists it.
        return False, 'owner-notice-summarized'
    if from_internal_client(trigger.verdict,
                            settings.engine.internal_networks):
        return True, None
    status = trigger.verdict.status
    if policy == 'authenticated-only':
        if status is Status.PASS:
            return True, None
        return False, 'owner-notice-summarized'
    if status is Status.FAIL:
        return False, 'owner-notice-suppressed-fail'
    return True, None


def sent_reason(trigger, to_owner):
    """notice-sent-<path>: owner, or the runner/moderator that answered."""
    if to_owner:
        return 'notice-sent-owner'
    where = trigger.where.split(':')
    return 'notice-sent-' + (where[1] if where[0] == 'runner'
                             and len(where) > 1 else where[0])


def remember_quiet_hold(list_id, message_id):
    """Note a held post for the owners' summary (once per message)."""
    table = QuietHold.__table__
    with savepoint(config.db.store) as connection:
        known = connection.execute(select(table.c.id).where(
            table.c.list_id == list_id,
            table.c.message_id == message_id)).first()
        if known is None:
            connection.execute(table.insert().values(
                list_id=list_id, message_id=message_id, recorded_at=now()))


def filter_recipients(notification, mlist):
    """The recipients of *notification* that may receive it, as a set."""
    recipients = set(notification.recipients)
    trigger = current()
    if trigger is None:
        return recipients
    list_id = mlist.list_id if mlist is not None else trigger.list_id
    settings = policy_for(list_id)
    if not settings.enabled:
        return recipients
    owners = owner_addresses(mlist)
    to_owners = isinstance(notification, OwnerNotification)
    allowed = set()
    for recipient in recipients:
        if recipient.lower() in trigger.chosen:
            allowed.add(recipient)
            continue
        to_owner = to_owners or recipient.lower() in owners
        if to_owner:
            # Owners are limited by the notice policy, not the rate limit.
            ok, reason = owner_notice_allowed(settings, trigger)
        else:
            ok, reason = answer_allowed(settings, trigger, recipient)
            if ok and settings.ratelimit_enabled:
                ok, reason = ratelimit.allow(recipient, settings)
        if ok:
            allowed.add(recipient)
            decisions.count(list_id or '', sent_reason(trigger, to_owner))
            continue
        if reason == 'owner-notice-summarized' and trigger.message_id:
            remember_quiet_hold(list_id or '', trigger.message_id)
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
