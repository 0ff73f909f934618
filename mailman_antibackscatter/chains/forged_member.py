"""Where a post whose From is a member but whose verdict is fail goes, and
a post whose author cannot be proven at all (always held)."""

from mailman.chains.base import TerminalChainBase
from mailman.core.i18n import _
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.chains.setaside import set_aside
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current
from mailman_antibackscatter.rules.forged_member import unproven_author
from public import public

_WHY = {
    'forged': 'The From address is a member, but sender authentication '
              'failed: the message is forged',
    'temperror': 'The From address is a member, but sender authentication '
                 'could not be completed (DNS trouble)',
    'unproven': 'No author can be proven: the message has no single From '
                'address, or no verdict the plugin can read',
}


@public
class ForgedMemberChain(TerminalChainBase):
    """Hold quietly (default), or discard, a post forging a member's From."""

    name = 'antibackscatter-forged-member'
    description = _('Set aside a post that forges a member address.')

    def _process(self, mlist, msg, msgdata):
        action = policy_for(mlist).forged_member
        trigger = current()
        verdict = trigger.verdict if trigger is not None else None
        if unproven_author(verdict):
            kind, reason = 'unproven', 'unproven-author-held'
        elif verdict.status is Status.TEMPERROR:
            kind, reason = 'temperror', 'forged-member-held'
        else:
            kind, reason = 'forged', 'forged-member-' + (
                'discarded' if action == 'discard' else 'held')
        if kind != 'forged':
            action = 'hold'    # never drop mail we could not judge
        decisions.record(
            reason, list_id=mlist.list_id,
            message_id=msg.get('message-id', ''), verdict=verdict,
            action=action)
        set_aside(action, mlist, msg, msgdata, _WHY[kind])
