"""Email commands are carried out only for a proven sender.

A forged From must not subscribe, unsubscribe or change anybody, and must not
receive a reply.  Commands from a sender that is not proven are ignored
(logged and counted).  When DNS trouble prevented a decision (and the door
did not defer the message), the message is moved to the shunt queue, so it
is not lost and `mailman unshunt` can retry it once DNS works again.
"""

from mailman.config import config
from mailman.runners.command import CommandRunner
from mailman_antibackscatter import decisions
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.runtime import get_settings
from mailman_antibackscatter.trigger import current
from public import public


@public
class AuthenticatedCommandRunner(CommandRunner):
    """`[runner.command] class:` installed by the plugin."""

    def _dispose(self, mlist, msg, msgdata):
        settings = get_settings()
        trigger = current()
        if (not settings.enabled or trigger is None
                or settings.unproven_commands == 'process'):
            return super()._dispose(mlist, msg, msgdata)
        status = trigger.status_for(msg.sender)
        if status is Status.PASS:
            return super()._dispose(mlist, msg, msgdata)
        if status is Status.TEMPERROR:
            decisions.record(
                'command-held-temperror', list_id=mlist.list_id,
                message_id=msg.get('message-id', ''), verdict=trigger.verdict,
                action='shunt', detail='retry with `mailman unshunt`')
            msgdata.pop('antibackscatter_verdict', None)
            config.switchboards['shunt'].enqueue(msg, msgdata)
            return False
        decisions.record(
            'command-ignored-{}'.format(
                status.value if trigger.verdict else 'no-verdict'),
            list_id=mlist.list_id, message_id=msg.get('message-id', ''),
            verdict=trigger.verdict, action='ignored',
            detail='{} {}'.format(msgdata.get('subaddress', 'request'),
                                  msg.sender))
        return False
