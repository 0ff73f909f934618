"""Rule: a delivery report or an auto-reply sent to a list's own address.

The list never sends from its posting, -owner or -request address, so a
delivery status notification (null envelope sender, or multipart/report)
or an RFC 3834 auto-reply arriving there answers spam that forged the
list: backscatter, to be dropped quietly rather than held, answered or
forwarded.
"""

from mailman.core.i18n import _
from mailman.interfaces.rules import IRule
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current
from public import public
from zope.interface import implementer

# Headers vacation programs and challenge-response systems set instead of
# (or besides) RFC 3834's Auto-Submitted.
_AUTOREPLY_HEADERS = ('x-autoreply', 'x-autorespond')


def backscatter_kind(msg, verdict):
    """'dsn', 'auto-reply', or None for a message that is neither."""
    mail_from = verdict.mail_from if verdict is not None else None
    if mail_from is None:
        mail_from = msg.get_unixfrom()
    if mail_from == '' or msg.get_content_type() == 'multipart/report':
        return 'dsn'
    auto = str(msg.get('auto-submitted', '')).split(';')[0]
    if auto.strip().lower() == 'auto-replied':
        return 'auto-reply'
    if any(name in msg for name in _AUTOREPLY_HEADERS):
        return 'auto-reply'
    if str(msg.get('precedence', '')).strip().lower() == 'auto_reply':
        return 'auto-reply'
    return None


def list_backscatter(mlist, msg):
    """The backscatter kind of *msg* arriving at one of *mlist*'s own
    addresses, or None (also when the plugin is off for the list)."""
    if not policy_for(mlist).enabled:
        return None
    trigger = current()
    return backscatter_kind(msg, trigger.verdict if trigger else None)


@public
@implementer(IRule)
class ListBackscatter:
    """Match delivery reports and auto-replies to the list's addresses."""

    name = 'list-backscatter'
    description = _('A delivery report or auto-reply to the list itself.')
    record = True

    def check(self, mlist, msg, msgdata):
        return list_backscatter(mlist, msg) is not None
