"""Rule: the From address is a member, but the message is not from them.

Hits when the verdict is fail (forged), and also when DNS trouble kept the
verdict open (temperror): such a post is held quietly until a moderator
looks, instead of being distributed on the strength of a header alone.
It also hits, member or not, when no one author can be proven at all: no
verdict a runner can read, or not exactly one From address.
"""

from mailman.core.i18n import _
from mailman.interfaces.rules import IRule
from mailman.interfaces.usermanager import IUserManager
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current
from mailman_antibackscatter.auth import Status
from public import public
from zope.component import getUtility
from zope.interface import implementer


def is_member_address(mlist, address):
    """True if *address*, or an address of the same user, is a list member."""
    if mlist.members.get_member(address) is not None:
        return True
    user = getUtility(IUserManager).get_user(address)
    if user is None:
        return False
    return any(mlist.members.get_member(a.email) is not None
               for a in user.addresses)


def unproven_author(verdict):
    """True when *verdict* names no one author: the message has no verdict
    a runner can read, or not exactly one From address."""
    return verdict is None or verdict.from_address is None


@public
@implementer(IRule)
class ForgedMember:
    """Match posts that claim a member's From address but are forged."""

    name = 'forged-member'
    description = _('The From address is a member but the message is forged.')
    record = True

    def check(self, mlist, msg, msgdata):
        settings = policy_for(mlist)
        if not settings.enabled or settings.forged_member == 'accept':
            return False
        trigger = current()
        if trigger is None:
            return False
        if unproven_author(trigger.verdict):
            return True
        verdict = trigger.verdict
        if verdict.status not in (
                Status.FAIL, Status.TEMPERROR):
            return False
        return is_member_address(mlist, verdict.from_address)
