"""Where backscatter to a list's own addresses goes: dropped quietly."""

from mailman.chains.base import TerminalChainBase
from mailman.config import config
from mailman.core.i18n import _
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.app.trigger import current
from mailman_antibackscatter.rules.list_backscatter import backscatter_kind
from public import public


def drop_list_backscatter(kind, mlist, msg, msgdata, where):
    """Count and log backscatter of *kind* that arrived at *where*; the
    caller makes sure nothing else happens to it."""
    trigger = current()
    decisions.record(
        'list-backscatter-' + kind, list_id=mlist.list_id,
        message_id=msg.get('message-id', ''),
        verdict=trigger.verdict if trigger is not None else None,
        action='discard', detail='sent to the list\'s {} address'.format(
            where))


@public
class ListBackscatterChain(TerminalChainBase):
    """Discard a delivery report or auto-reply sent to the list, quietly."""

    name = 'antibackscatter-list-backscatter'
    description = _('Drop backscatter sent to the list\'s own addresses.')

    def _process(self, mlist, msg, msgdata):
        trigger = current()
        kind = backscatter_kind(
            msg, trigger.verdict if trigger is not None else None) or 'dsn'
        drop_list_backscatter(
            kind, mlist, msg, msgdata,
            'owner' if msgdata.get('to_owner') else 'posting')
        config.chains['discard']._process(mlist, msg, msgdata)
