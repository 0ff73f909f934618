"""Rejections of unproven senders become quiet discards or holds."""

from mailman.chains.reject import RejectChain
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.chains.setaside import set_aside
from mailman_antibackscatter.app.notifications import answer_allowed
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current

# Keeps Mailman's chain name 'reject'; installed by patches.py.
__all__ = []


class AuthenticatedRejectChain(RejectChain):
    """Bounce only to a proven sender; otherwise discard or hold quietly.

    Every jump to 'reject' (moderation actions, reject_these_nonmembers,
    header matches, DMARC mitigation) lands here.  A temporary DNS error
    always holds: the plugin never drops mail because DNS was down.
    """

    def _process(self, mlist, msg, msgdata):
        settings = policy_for(mlist)
        trigger = current()
        if trigger is None or not settings.enabled:
            return super()._process(mlist, msg, msgdata)
        # The same policy the exit applies to the bounce itself.
        may_answer, _reason = answer_allowed(settings, trigger, msg.sender)
        if may_answer:
            return super()._process(mlist, msg, msgdata)
        status = trigger.status_for(msg.sender)
        hold = (status is Status.TEMPERROR or trigger.verdict is None
                or settings.reject_unproven == 'hold')
        decisions.record(
            'reject-unproven-' + ('held' if hold else 'discarded'),
            list_id=mlist.list_id, message_id=msg.get('message-id', ''),
            verdict=trigger.verdict, action='hold' if hold else 'discard',
            detail='instead of a reject bounce to {}'.format(msg.sender))
        set_aside('hold' if hold else 'discard', mlist, msg, msgdata,
                  'Would have been rejected; the sender is not proven, so '
                  'the plugin held it instead of bouncing')
