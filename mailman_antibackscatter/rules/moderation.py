"""Membership decided on the authenticated author only.

Mailman's moderation rules count a post as a member post when any of From,
envelope sender, Reply-To or Sender is a member, so one forged header turns
spam into a member post.  These subclasses show the rules only the From
address, plus the envelope sender when that is proven.  Bans are unaffected:
the earlier `banned-address` rule still checks every sender header.
"""

from mailman.rules.moderation import MemberModeration, NonmemberModeration
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current

# Keep Mailman's rule names; installed by patches.py, so not in __all__.
__all__ = []


class _AuthorOnly:
    """A view of a message whose `senders` are the authenticated ones."""

    def __init__(self, msg, senders):
        self._msg = msg
        self.senders = senders

    @property
    def sender(self):
        return self.senders[0] if self.senders else ''

    def __getattr__(self, name):
        return getattr(self._msg, name)

    def __getitem__(self, name):
        return self._msg[name]

    def __contains__(self, name):
        return name in self._msg


def author_senders(msg):
    """The senders that may decide membership for *msg*."""
    senders = msg.senders
    trigger = current()
    verdict = trigger.verdict if trigger is not None else None
    if verdict is None or verdict.from_address is None:
        # Without a single From address Mailman answers its first sender;
        # that one alone decides, never a later header.
        return senders[:1]
    return [address for address in senders
            if address == verdict.from_address
            or verdict.status_for(address) is Status.PASS]


def author_view(mlist, msg):
    """*msg* as the list's moderation rules should see it."""
    policy = policy_for(mlist)
    if not (policy.enabled and policy.authenticated_membership):
        return msg
    return _AuthorOnly(msg, author_senders(msg))


class AuthenticatedMemberModeration(MemberModeration):
    def check(self, mlist, msg, msgdata):
        return super().check(mlist, author_view(mlist, msg), msgdata)


class AuthenticatedNonmemberModeration(NonmemberModeration):
    def check(self, mlist, msg, msgdata):
        return super().check(mlist, author_view(mlist, msg), msgdata)
