"""Forged mail and backscatter to -owner are not forwarded to the owners."""

from mailman.chains.owner import BuiltInOwnerChain
from mailman.config import config
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.chains.setaside import set_aside
from mailman_antibackscatter.rules.list_backscatter import list_backscatter
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current, from_internal_client

# Keeps Mailman's chain name 'default-owner-chain'; installed by patches.py.
__all__ = []


class AuthenticatedOwnerChain(BuiltInOwnerChain):
    """Forward to the owners unless the message is proven forged."""

    def _process(self, mlist, msg, msgdata):
        if list_backscatter(mlist, msg) is not None:
            # The owner chain has no links: the rule and chain of the
            # posting chain's first link, applied here first.
            return config.chains['antibackscatter-list-backscatter'
                                 ]._process(mlist, msg, msgdata)
        settings = policy_for(mlist)
        trigger = current()
        if (trigger is None or not settings.enabled or not trigger.forged
                or settings.owner_forged == 'forward'
                or from_internal_client(trigger.verdict,
                                        settings.engine.internal_networks)):
            return super()._process(mlist, msg, msgdata)
        action = settings.owner_forged
        decisions.record(
            'owner-forged-' + ('held' if action == 'hold' else 'discarded'),
            list_id=mlist.list_id, message_id=msg.get('message-id', ''),
            verdict=trigger.verdict, action=action)
        set_aside(action, mlist, msg, msgdata,
                  'Forged mail to the list owners (sender authentication '
                  'failed)')
