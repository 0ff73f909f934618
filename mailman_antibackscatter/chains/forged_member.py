"""Where a post whose From is a member but whose verdict is fail goes."""

from mailman.chains.base import TerminalChainBase
from mailman.core.i18n import _
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.chains.setaside import set_aside
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current
from public import public


@public
class ForgedMemberChain(TerminalChainBase):
    """Hold quietly (default), or discard, a post forging a member's From."""

    name = 'antibackscatter-forged-member'
    description = _('Set aside a post that forges a member address.')

    def _process(self, mlist, msg, msgdata):
        action = policy_for(mlist).forged_member
        trigger = current()
        verdict = trigger.verdict if trigger is not None else None
        if verdict is None or verdict.status is Status.TEMPERROR:
            action = 'hold'             # never drop mail because DNS failed
        decisions.record(
            'forged-member-' + ('discarded' if action == 'discard'
                                else 'held'),
            list_id=mlist.list_id, message_id=msg.get('message-id', ''),
            verdict=verdict, action=action)
        set_aside(action, mlist, msg, msgdata,
                  'The From address is a member, but sender authentication '
                  '{}'.format('could not be completed (DNS trouble)'
                              if verdict is not None
                              and verdict.status is Status.TEMPERROR
                              else 'failed: the message is forged'))
