"""Email commands are carried out only for a proven sender.

A forged From must not subscribe, unsubscribe or change anybody, and must not
receive a reply; a delivery report or auto-reply is backscatter and is
dropped before any command is read.  Commands from a sender that is not
proven are ignored (logged and counted).  When DNS trouble prevented a
decision (and the door did not defer the message), the message is moved to
the shunt queue, so it is not lost; `mailman unshunt` brings it back here,
and it is authenticated again (SPF with the recorded client, DKIM over
Mailman's copy of the message) before anything is decided.
"""

from mailman.config import config
from mailman.runners.command import CommandRunner
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.config.runtime import get_authenticator
from mailman_antibackscatter.app.trigger import (
    MSGDATA_KEY, Trigger, answering, current, msgdata_verdict)
from mailman_antibackscatter.chains.list_backscatter import (
    drop_list_backscatter)
from mailman_antibackscatter.rules.list_backscatter import list_backscatter
from public import public

RETRY_KEY = 'antibackscatter_retry'


def reauthenticated(trigger, msg, msgdata):
    """A fresh trigger for a message that was shunted for DNS trouble."""
    verdict = get_authenticator().authenticate(
        msg.as_bytes(), msg.get_unixfrom(), trigger.verdict.client)
    msgdata[MSGDATA_KEY] = msgdata_verdict(verdict)
    return Trigger(trigger.list_id, trigger.message_id, verdict,
                   trigger.where + ':retry')


@public
class AuthenticatedCommandRunner(CommandRunner):
    """`[runner.command] class:` installed by the plugin."""

    def _dispose(self, mlist, msg, msgdata):
        kind = list_backscatter(mlist, msg)
        if kind is not None:
            # A delivery report or auto-reply holds no commands and must
            # not be answered.
            drop_list_backscatter(kind, mlist, msg, msgdata,
                                  msgdata.get('subaddress', 'request'))
            return False
        settings = policy_for(mlist)
        trigger = current()
        if (not settings.enabled or trigger is None
                or settings.unproven_commands == 'process'):
            return super()._dispose(mlist, msg, msgdata)
        if (trigger.verdict is not None and msgdata.pop(RETRY_KEY, False)
                and trigger.verdict.status_for(msg.sender)
                is Status.TEMPERROR):
            trigger = reauthenticated(trigger, msg, msgdata)
            with answering(trigger):
                return self._decide(trigger, mlist, msg, msgdata)
        return self._decide(trigger, mlist, msg, msgdata)

    def _decide(self, trigger, mlist, msg, msgdata):
        status = trigger.status_for(msg.sender)
        if status is Status.PASS:
            return super()._dispose(mlist, msg, msgdata)
        if status is Status.TEMPERROR:
            decisions.record(
                'command-held-temperror', list_id=mlist.list_id,
                message_id=msg.get('message-id', ''), verdict=trigger.verdict,
                action='shunt', detail='retry with `mailman unshunt`')
            msgdata[RETRY_KEY] = True
            msgdata['whichq'] = 'command'
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
